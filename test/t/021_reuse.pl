# Billed answers are reused (issue 21): with juhe.reuse_answers_for > 0 a
# billed answer (res 1 or 2) for the same normalised name and ID number,
# received within that time, is returned again without a request:
#  1. a signup whose INSERT was verified, then failed on a unique e-mail
#     and rolled back, is retried: no second charge, the same order id, the
#     original answer's time in verified_at, juhe_stats.reuses counts it;
#  2. from other backends and other databases;
#  3. after a restart (the index is rebuilt from the ledger);
#  4. on a promoted streaming standby;
#  5. only within juhe.reuse_answers_for; not at all when it is 0;
#  6. per call opt-out: juhe_verify, juhe_verify_many, CALL
#     juhe_verify_table with reuse => false, the trigger with 'reuse=off';
#  7. after juhe.digest_key changes, the old answers no longer match;
#     an empty key with reuse on fails with 55000;
#  8. service errors, in-doubt requests and local answers are never reused;
#  9. the ledger file holds no name or ID number, only the HMAC digest of
#     billed answers (checked against one computed here);
# 10. pg_read_all_stats reads juhe_ledger and juhe_stats, no digest shown;
# 11. juhe.reuse_answers_for is superuser-only to set, juhe.digest_key to
#     read;
# 12. a full index (juhe.reuse_max_answers) drops its oldest answers;
# 13. answers in the ledger file are indexed at the start, and
#     juhe.ledger_retention_days ends their reuse.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use Digest::SHA qw(hmac_sha256 hmac_sha256_hex);
use Encode ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

start_mock();

my $KEY1 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
my $KEY2 = 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';

# the people (mock/MOCK.md): 张三 and 李四 match (res 1); other names with
# 李四's ID are billed mismatches (res 2)
my ($ZS_N, $ZS_I) = ('张三', '11010519491231002X');
my ($LS_N, $LS_I) = ('李四', '440304198808081238');
my @MISMATCH = ('钱二', '孙五', '吴七');    # with $LS_I: res 2
my $ERR_I = '110101200001010029';          # error 210302
my $DOUBT_I = '110101200001012163';        # billed on receipt, no answer: in doubt
my $BAD_I = '110105194912310021';          # wrong check digit: answered locally
my $REUSED = qr/^reused answer of (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC \(ledger id (\d+)\), no request sent$/;

my $node = PostgreSQL::Test::Cluster->new('reuse');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', juheid_conf() . qq{
juhe.reuse_answers_for = '1d'
juhe.digest_key = '$KEY1'
});
juheid_start($node);
$node->safe_psql('postgres', 'CREATE EXTENSION juheid');

sub q1 { return $node->safe_psql('postgres', $_[0]); }
sub billed { return mock_stats()->{billed} // 0; }
sub requests { return mock_stats()->{requests} // 0; }

# juhe_verify's answer as "res|orderid|error_code|reason"
sub vsql
{
	my ($args) = @_;
	return qq{SELECT format('%s|%s|%s|%s', r.res, r.orderid, r.error_code, r.reason) FROM juhe_verify($args) r};
}

sub verify
{
	my ($args, $db, $n) = @_;
	$n //= $node;
	return $n->safe_psql($db // 'postgres', vsql($args));
}

# an answer line that must be a reuse: its reason names a billed ledger
# row, whose res, order id and time it carries; returns the ledger id
sub reused_ok
{
	my ($line, $what, %o) = @_;
	my $n = $o{node} // $node;
	my $db = $o{db} // 'postgres';
	my ($res, $orderid, $ec, $reason) = split /\|/, $line, 4;
	$reason //= '';
	unless ($reason =~ $REUSED)
	{
		fail("$what: reused");
		diag("reason: $reason");
		return -1;
	}
	my ($t, $id) = ($1, $2);
	my $row = $n->safe_psql($db, qq{
		SELECT format('%s|%s|%s', status, res, orderid) || '|0|reused answer of '
		       || to_char(billed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
		       || ' UTC (ledger id ' || id || '), no request sent'
		  FROM juhe_ledger WHERE id = $id});
	my ($status, $expect) = split /\|/, $row, 2;
	is($status // '', 'billed', "$what: reused, naming billed ledger row $id");
	is($line, $expect // '(no such ledger row)',
		"$what: ... with its res, order id and time, error_code 0");
	is($id, $o{id}, "$what: ... ledger id $o{id}") if defined $o{id};
	return $id;
}

sub not_reused_ok
{
	my ($line, $what) = @_;
	my (undef, undef, undef, $reason) = split /\|/, $line, 4;
	unlike($reason // '', qr/reused answer/, "$what: not a reused answer");
}

# the id of the newest billed row in the ledger
sub last_billed_id
{
	return q1(q{SELECT max(id) FROM juhe_ledger WHERE status = 'billed'});
}

# the person's digest as the README defines it, computed here
sub person_digest
{
	my ($key, $name, $id) = @_;
	my $url = mock_url() =~ s{/+$}{}r;
	my $msg = 'juheid-answer-v1|' . length($url) . ":$url|" . length($name) . ":$name|" . length($id) . ":$id";
	return hmac_sha256($msg, $key);
}

sub wait_setting
{
	my ($name, $value) = @_;
	$node->poll_query_until('postgres', qq{SELECT current_setting('$name') = '$value'})
	  or die "$name did not change";
}

is(q1(q{SELECT extversion FROM pg_extension WHERE extname = 'juheid'}), '1.2', 'CREATE EXTENSION gives 1.2');

# ---------------------------------------------------------------- 1. signup retry
q1(qq{
CREATE TABLE signup (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    realname text,
    idcard text,
    verification juhe_result,
    verified_orderid text,
    verified_at timestamptz);
CREATE TRIGGER signup_verify BEFORE INSERT OR UPDATE ON signup
  FOR EACH ROW EXECUTE FUNCTION
  juhe_verify_trigger('realname', 'idcard', 'result=verification',
                      'orderid=verified_orderid', 'verified_at=verified_at');
INSERT INTO signup (email) VALUES ('taken\@example.com');
});
mock_reset();
my $app = $node->background_psql('postgres', on_error_stop => 0);
my ($out, $failed) = $app->query(qq{INSERT INTO signup (email, realname, idcard)
	VALUES ('taken\@example.com', '$ZS_N', '$ZS_I')});
ok($failed && $app->{stderr} =~ /duplicate key value violates unique constraint/,
	'signup: the first INSERT fails on the unique e-mail');
$app->{stderr} = '';
is(billed(), 1, '... after it was verified: billed 1');
my $n1 = last_billed_id();
my ($o1, $t1) = split /\|/, q1(qq{SELECT orderid || '|' || billed_at FROM juhe_ledger WHERE id = $n1});
like($o1, qr/^J\d+$/, '... the ledger has its answer');
$app->query_safe(qq{INSERT INTO signup (email, realname, idcard)
	VALUES ('zhang\@example.com', '$ZS_N', '$ZS_I')});
$app->quit;
is(billed(), 1, 'the retry with a corrected e-mail: no second charge');
is(q1(q{SELECT verified_orderid FROM signup WHERE email = 'zhang@example.com'}), $o1,
	'... the row has the first answer\'s order id');
reused_ok(q1(q{SELECT format('%s|%s|%s|%s', (verification).res, (verification).orderid,
		(verification).error_code, (verification).reason) FROM signup WHERE email = 'zhang@example.com'}),
	'signup retry', id => $n1);
is(q1(qq{SELECT verified_at = '$t1'::timestamptz FROM signup WHERE email = 'zhang\@example.com'}), 't',
	'... verified_at is the original answer\'s time (the ledger\'s billed_at)');
is(q1(q{SELECT count(*) FROM juhe_ledger}), 1, '... and the reuse added no ledger row');
is(q1(q{SELECT sum(reuses) FROM juhe_stats WHERE datname = 'postgres'}), 1, 'juhe_stats.reuses = 1');

# ---------------------------------------------------------------- 2. backends, databases
{
	my $s1 = $node->background_psql('postgres');
	my $s2 = $node->background_psql('postgres');
	isnt($s1->query_safe('SELECT pg_backend_pid()'), $s2->query_safe('SELECT pg_backend_pid()'),
		'two sessions, two backends');
	reused_ok($s1->query_safe(vsql("'$ZS_N', '$ZS_I'")), 'backend 1', id => $n1);
	reused_ok($s2->query_safe(vsql("'$ZS_N', '$ZS_I'")), 'backend 2', id => $n1);
	# the same person as the normaliser sees it
	reused_ok($s2->query_safe(vsql("'  $ZS_N ', '" . lc($ZS_I) . "'")), 'backend 2, unnormalised input', id => $n1);
	$s1->quit;
	$s2->quit;
}
q1('CREATE DATABASE db2');
$node->safe_psql('db2', 'CREATE EXTENSION juheid');
reused_ok(verify("'$ZS_N', '$ZS_I'", 'db2'), 'another database', db => 'db2', id => $n1);
is(billed(), 1, 'other backends and another database: no further charge');
is($node->safe_psql('db2', q{SELECT sum(reuses) FROM juhe_stats WHERE datname = 'db2'}), 1,
	'juhe_stats counts the reuse in db2');

# the 1.1 -> 1.2 update
q1('CREATE DATABASE db3');
$node->safe_psql('db3', q{CREATE EXTENSION juheid VERSION '1.1'; ALTER EXTENSION juheid UPDATE TO '1.2'});
is($node->safe_psql('db3', q{SELECT extversion || '|' || (to_regprocedure('juhe_verify(text,text,text,boolean)') IS NOT NULL)
	|| '|' || (SELECT count(*) FROM pg_attribute WHERE attrelid = 'juhe_stats'::regclass AND attname = 'reuses')
	FROM pg_extension WHERE extname = 'juheid'}), '1.2|true|1',
	'ALTER EXTENSION juheid UPDATE TO 1.2: the reuse overload and juhe_stats.reuses');
reused_ok(verify("'$ZS_N', '$ZS_I', NULL, true", 'db3'), 'updated database', db => 'db3', id => $n1);

# a transaction rolled back after a reused answer threw away nothing billed
# in it: no "rolled back after ... billed verification" LOG line
{
	my $off = -s $node->logfile;
	q1("BEGIN;\n" . vsql("'$ZS_N', '$ZS_I'") . ";\nROLLBACK;");
	q1('SELECT 1');
	my $log = slurp_file($node->logfile, $off);
	unlike($log, qr/rolled back after \d+ billed verification/,
		'a rollback after a reused answer logs no discarded billed answer');
	is(billed(), 1, '... and nothing was charged');
}

# ---------------------------------------------------------------- 3. restart
$node->restart;
reused_ok(verify("'$ZS_N', '$ZS_I'"), 'after a restart', id => $n1);
is(billed(), 1, '... no charge');

# ---------------------------------------------------------------- 5. the interval
{
	my $p = "'$MISMATCH[0]', '$LS_I'";
	my $b0 = billed();
	my @l = split /\n/, q1(qq{
SET juhe.reuse_answers_for = '2s';
@{[ vsql($p) ]};
@{[ vsql($p) ]};
SELECT 'slept' FROM pg_sleep(3);
@{[ vsql($p) ]};
});
	is(scalar(@l), 4, 'reuse_answers_for 2s: three answers');
	like($l[0], qr/^2\|J\d+\|0\|/, '... a billed mismatch');
	not_reused_ok($l[0], '... the first');
	reused_ok($l[1], '... the same call at once');
	is($l[2], 'slept', '... (3 s)');
	not_reused_ok($l[3], '... 3 s later');
	like($l[3], qr/^2\|J\d+\|0\|/, '... billed again');
	is(billed() - $b0, 2, '... charged twice');

	# off: nothing reused, digests still stored (the answers are reused
	# once it is on again)
	$p = "'$MISMATCH[2]', '$LS_I'";
	$b0 = billed();
	@l = split /\n/, q1(qq{
SET juhe.reuse_answers_for = 0;
@{[ vsql($p) ]};
@{[ vsql($p) ]};
RESET juhe.reuse_answers_for;
@{[ vsql($p) ]};
});
	not_reused_ok($l[0], 'reuse_answers_for 0: first call');
	not_reused_ok($l[1], '... second call');
	is(billed() - $b0, 2, '... both charged');
	reused_ok($l[2], 'back at 1d: the answer billed while it was 0');
	is(billed() - $b0, 2, '... not charged');
}

# ---------------------------------------------------------------- 6. opt-out
{
	q1(q{
CREATE TABLE optout (id int PRIMARY KEY, realname text, idcard text, v juhe_result);
CREATE TABLE trg_off (realname text, idcard text, verification juhe_result,
                      verified_orderid text, verified_at timestamptz);
CREATE TRIGGER t BEFORE INSERT OR UPDATE ON trg_off FOR EACH ROW EXECUTE FUNCTION
  juhe_verify_trigger('realname', 'idcard', 'result=verification',
                      'orderid=verified_orderid', 'verified_at=verified_at', 'reuse=off');
CREATE TABLE trg_on (realname text, idcard text, verification juhe_result,
                     verified_orderid text, verified_at timestamptz);
CREATE TRIGGER t BEFORE INSERT OR UPDATE ON trg_on FOR EACH ROW EXECUTE FUNCTION
  juhe_verify_trigger('realname', 'idcard', 'result=verification',
                      'orderid=verified_orderid', 'verified_at=verified_at');
});
	q1(qq{INSERT INTO optout VALUES (1, '$LS_N', '$LS_I', NULL)});
	my $p = "'$LS_N', '$LS_I'";
	my $b = billed();
	my $l = verify($p);
	like($l, qr/^1\|J\d+\|0\|/, 'opt-out: a first billed match');
	not_reused_ok($l, '... the first');
	is(billed(), ++$b, '... charged');

	$l = verify("$p, NULL, false");
	not_reused_ok($l, 'juhe_verify(..., NULL, false)');
	is(billed(), ++$b, '... charged');
	reused_ok(verify("$p, NULL, true"), 'juhe_verify(..., NULL, true)');
	is(billed(), $b, '... not charged');

	my $many = sub {
		my ($reuse) = @_;
		return q1(qq{SELECT format('%s|%s|%s|%s', res, orderid, error_code, reason)
			FROM juhe_verify_many(ARRAY['$LS_N'], ARRAY['$LS_I'], NULL, 8, $reuse)});
	};
	not_reused_ok($many->('false'), 'juhe_verify_many(..., NULL, 8, false)');
	is(billed(), ++$b, '... charged');
	reused_ok($many->('true'), 'juhe_verify_many(..., NULL, 8, true)');
	is(billed(), $b, '... not charged');

	my $table = sub {
		my ($reuse) = @_;
		q1(q{UPDATE optout SET v = NULL});
		q1(qq{CALL juhe_verify_table('optout', 'realname', 'idcard', 'v', NULL, 8, 1000, NULL, NULL, $reuse)});
		return q1(q{SELECT format('%s|%s|%s|%s', (v).res, (v).orderid, (v).error_code, (v).reason) FROM optout});
	};
	$l = $table->('false');
	like($l, qr/^1\|J\d+\|0\|/, 'CALL juhe_verify_table(..., false): answered');
	not_reused_ok($l, '... ');
	is(billed(), ++$b, '... charged');
	reused_ok($table->('true'), 'CALL juhe_verify_table(..., true)');
	is(billed(), $b, '... not charged');

	q1(qq{INSERT INTO trg_off (realname, idcard) VALUES ('$LS_N', '$LS_I')});
	is(billed(), ++$b, 'the trigger with reuse=off: charged');
	not_reused_ok(q1(q{SELECT format('%s|%s|%s|%s', (verification).res, (verification).orderid,
		(verification).error_code, (verification).reason) FROM trg_off}), '... its answer');
	# a fresh answer: the time of that answer (not of an earlier one)
	is(q1(q{SELECT verified_at >= (SELECT sent_at FROM juhe_ledger l WHERE l.orderid = t.verified_orderid)
		FROM trg_off t}), 't', '... verified_at is not before its own request');
	q1(qq{INSERT INTO trg_on (realname, idcard) VALUES ('$LS_N', '$LS_I')});
	is(billed(), $b, 'the trigger without it: not charged');
	my $id = reused_ok(q1(q{SELECT format('%s|%s|%s|%s', (verification).res, (verification).orderid,
		(verification).error_code, (verification).reason) FROM trg_on}), '... its answer');
	is(q1(qq{SELECT verified_at = (SELECT billed_at FROM juhe_ledger WHERE id = $id) FROM trg_on}), 't',
		'... verified_at is the original answer\'s time');
}

# ---------------------------------------------------------------- 8. only billed res 1/2
{
	my $r = requests();
	my @l = split /\n/, q1(join(";\n", (vsql("'$ZS_N', '$ERR_I'")) x 2));
	like($l[$_], qr/^\|\|210302\|/, "a service error, call $_: error 210302") for 0 .. 1;
	not_reused_ok($l[1], '... the second');
	is(requests() - $r, 2, '... sent each time');

	$r = requests();
	is(q1(qq{SELECT juhe_idcard_valid('$BAD_I')}), 'f', 'a locally invalid ID');
	@l = split /\n/, q1(join(";\n", (vsql("'$ZS_N', '$BAD_I'")) x 2));
	like($l[$_], qr/^\|\|210304\|/, "... call $_: answered locally (210304)") for 0 .. 1;
	not_reused_ok($l[1], '... the second');
	is(requests() - $r, 0, '... never sent');

	$r = requests();
	for (1 .. 2)
	{
		my ($rc, $o, $e) = $node->psql('postgres', vsql("'$ZS_N', '$DOUBT_I'"));
		isnt($rc, 0, "a request left in doubt, call $_: fails");
	}
	is(requests() - $r, 2, '... sent each time (an in-doubt request is not reused)');
	is(q1(qq{SELECT count(*) FROM juhe_ledger WHERE status = 'in doubt'}), 2, '... both in doubt in the ledger');
}

# ---------------------------------------------------------------- 7. key rotation
$node->append_conf('postgresql.conf', "juhe.digest_key = '$KEY2'\n");
$node->reload;
wait_setting('juhe.digest_key', $KEY2);
my $b7 = billed();
my $l7 = verify("'$ZS_N', '$ZS_I'");
not_reused_ok($l7, 'a new juhe.digest_key: the old answer does not match');
like($l7, qr/^1\|J\d+\|0\|/, '... a new billed answer');
is(billed(), $b7 + 1, '... charged');
my $n7 = last_billed_id();
reused_ok(verify("'$ZS_N', '$ZS_I'"), '... then the new answer is reused', id => $n7);
is(billed(), $b7 + 1, '... not charged');

# ---------------------------------------------------------------- 9. the ledger file
{
	my $f = $node->data_dir . '/juheid/ledger';
	my $data = PostgreSQL::Test::Utils::slurp_file($f);
	is(length($data) % 384, 0, 'the ledger file: whole 384-byte records');
	my $hits = 0;
	for my $s ($ZS_N, $LS_N, @MISMATCH, map { (uc($_), lc($_)) } ($ZS_I, $LS_I, $ERR_I, $DOUBT_I, $BAD_I))
	{
		$hits++ if index($data, $s) >= 0;
	}
	is($hits, 0, '... no name or ID number (upper or lower case) anywhere in it');

	my (%billed, @others, $badmagic);
	for (my $off = 0; $off + 384 <= length($data); $off += 384)
	{
		my $rec = substr($data, $off, 384);
		my $magic = unpack('V', substr($rec, 4, 4));
		$badmagic++ if $magic != 0x4A484C32;
		my $fate = unpack('C', substr($rec, 8, 1));
		my $res = unpack('c', substr($rec, 11, 1));
		my $id = unpack('Q<', substr($rec, 16, 8));
		my $digest = substr($rec, 320, 32);
		if ($fate == 2)
		{
			$billed{$id} = [ $res, $digest ];
		}
		else
		{
			push @others, [ $fate, $id, $digest ];
		}
	}
	ok(!$badmagic, '... every record has the magic JHL2');
	ok($billed{$n1} && $billed{$n1}[1] eq person_digest($KEY1, $ZS_N, $ZS_I),
		"the digest of the first billed answer (ledger id $n1) is HMAC-SHA256 under the first key");
	ok($billed{$n7} && $billed{$n7}[1] eq person_digest($KEY2, $ZS_N, $ZS_I),
		"the digest of the answer after the key change (ledger id $n7) is HMAC-SHA256 under the new key");
	my $zero = "\0" x 32;
	my @nodigest = grep { $billed{$_}[0] =~ /^[12]$/ && $billed{$_}[1] eq $zero } keys %billed;
	is(scalar(@nodigest), 0, 'every billed res 1/2 record has a digest (' . scalar(keys %billed) . ' records)');
	my @sent = grep { $_->[0] == 1 } @others;
	my @settled = grep { $_->[0] != 1 } @others;
	cmp_ok(scalar(@sent), '>', 0, 'there are "sent" records');
	is(scalar(grep { $_->[2] ne $zero } @sent), 0, '... their digest is zero');
	cmp_ok(scalar(@settled), '>=', 2, 'there are settled records that are not billed (in doubt, not billed)');
	is(scalar(grep { $_->[2] ne $zero } @settled), 0, '... their digest is zero');

	# ---------------------------------------------------------------- 10. pg_read_all_stats
	q1(q{CREATE ROLE watcher LOGIN; GRANT pg_read_all_stats TO watcher; CREATE ROLE plain LOGIN});
	my $all = $node->safe_psql('postgres', q{\pset tuples_only off
SELECT * FROM juhe_ledger;
SELECT * FROM juhe_stats}, extra_params => [ '-U', 'watcher' ]);
	like($all, qr/\bstatus\b/, 'pg_read_all_stats reads juhe_ledger');
	like($all, qr/\breuses\b/, '... and juhe_stats (with reuses)');
	unlike($all, qr/digest/i, '... no column named digest');
	my $hex = unpack('H*', $billed{$n1}[1] // 'x');
	ok(index(lc($all), $hex) < 0, '... and no digest value');
	is(q1(q{SELECT count(*) FROM pg_attribute a
		JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		 AND (   (d.classid = 'pg_class'::regclass AND d.objid = a.attrelid)
		      OR (d.classid = 'pg_type'::regclass
		          AND a.attrelid = (SELECT typrelid FROM pg_type WHERE oid = d.objid)))
		JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'juheid'
		WHERE a.attname ILIKE '%digest%' AND NOT a.attisdropped}), 0,
		'no relation of the extension has a digest column');
	is(q1(q{SELECT count(*) FROM pg_attribute
		WHERE attrelid IN ('juhe_ledger'::regclass, 'juhe_stats'::regclass, 'juhe_billing'::regclass)
		  AND attname ILIKE '%digest%'}), 0, 'the views juhe_ledger, juhe_stats, juhe_billing: no digest column');
	is(q1(q{SELECT count(*) FROM pg_proc p
		JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
		JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'juheid'
		WHERE array_to_string(p.proargnames, ',') ILIKE '%digest%'}), 0,
		'no function of the extension has a digest argument or column');
}

# ---------------------------------------------------------------- 11. superuser only
{
	my ($rc, $o, $e) = $node->psql('postgres', qq{\\set VERBOSITY verbose
SET juhe.reuse_answers_for = '1d'}, extra_params => [ '-U', 'plain' ]);
	like($e, qr/ERROR:  42501:/, 'a non-superuser cannot SET juhe.reuse_answers_for (42501)');
	($rc, $o, $e) = $node->psql('postgres', qq{\\set VERBOSITY verbose
SET juhe.reuse_answers_for = 0}, extra_params => [ '-U', 'plain' ]);
	like($e, qr/ERROR:  42501:/, '... not even to 0');
	($rc, $o, $e) = $node->psql('postgres', qq{\\set VERBOSITY verbose
SHOW juhe.digest_key}, extra_params => [ '-U', 'plain' ]);
	like($e, qr/ERROR:  42501:/, 'a non-superuser cannot SHOW juhe.digest_key (42501)');
	ok(index($o . $e, $KEY2) < 0, '... nor sees it');
	($rc, $o, $e) = $node->psql('postgres', q{SELECT current_setting('juhe.digest_key')},
		extra_params => [ '-U', 'plain' ]);
	isnt($rc, 0, '... nor reads it with current_setting()');
	$o = $node->safe_psql('postgres', q{SELECT * FROM pg_settings}, extra_params => [ '-U', 'plain' ]);
	ok(index($o, $KEY2) < 0 && index($o, $KEY1) < 0, '... nor in pg_settings');
	$o = $node->safe_psql('postgres', q{SELECT * FROM pg_settings}, extra_params => [ '-U', 'watcher' ]);
	ok(index($o, $KEY2) < 0, '... nor does a pg_read_all_stats member');
	is(q1(q{SHOW juhe.reuse_answers_for}), '1d', 'a superuser sees reuse_answers_for');
}

# ---------------------------------------------------------------- 7b. no key
$node->append_conf('postgresql.conf', "juhe.digest_key = ''\n");
$node->reload;
wait_setting('juhe.digest_key', '');
{
	my $b = billed();
	my ($rc, $o, $e) = $node->psql('postgres', "\\set VERBOSITY verbose\n" . vsql("'$ZS_N', '$ZS_I'"));
	like($e, qr/ERROR:  55000:/, 'juhe.digest_key empty with reuse on: the call fails with 55000');
	like($e, qr/juhe\.digest_key/, '... naming juhe.digest_key');
	is(billed(), $b, '... nothing charged');
	my $l = verify("'$ZS_N', '$ZS_I', NULL, false");
	like($l, qr/^1\|J\d+\|0\|/, '... a call with reuse => false works');
	not_reused_ok($l, '... it is not a reuse');
	is(billed(), $b + 1, '... and is charged');
}
$node->append_conf('postgresql.conf', "juhe.digest_key = '$KEY2'\n");
$node->reload;
wait_setting('juhe.digest_key', $KEY2);

# ---------------------------------------------------------------- 4. promoted standby
{
	$node->backup('b1');
	my $standby = PostgreSQL::Test::Cluster->new('standby');
	$standby->init_from_backup($node, 'b1', has_streaming => 1);
	juheid_start($standby);
	my $p = "'$MISMATCH[1]', '$LS_I'";
	my $b = billed();
	my $l = verify($p);
	like($l, qr/^2\|J\d+\|0\|/, 'the primary: a billed answer after the standby started');
	is(billed(), $b + 1, '... charged');
	my $np = last_billed_id();
	$node->wait_for_catchup($standby);
	$node->stop('immediate');
	$standby->promote;
	$standby->poll_query_until('postgres', q{SELECT NOT pg_is_in_recovery()}) or die 'no promotion';
	reused_ok(verify($p, 'postgres', $standby), 'the promoted standby: the answer streamed to it',
		node => $standby, id => $np);
	reused_ok(verify("'$ZS_N', '$ZS_I'", 'postgres', $standby), '... and one from its base backup',
		node => $standby, id => $n7);
	is(billed(), $b + 1, '... no charge');
	$standby->stop;
}

# ---------------------------------------------------------------- 12. a full index
# juhe.reuse_max_answers = 8: the ninth answer drops the oldest eighth;
# the newest answers are reused, the oldest cost a request again
{
	my $small = PostgreSQL::Test::Cluster->new('small_index');
	$small->init;
	$small->append_conf('postgresql.conf', juheid_conf() . qq{
juhe.reuse_answers_for = '1d'
juhe.digest_key = '$KEY1'
juhe.reuse_max_answers = 8
});
	juheid_start($small);
	$small->safe_psql('postgres', 'CREATE EXTENSION juheid');
	# 16 names (UTF-8 bytes, as the rest of this file) with 李四's ID: res 2
	my @names = map { '测' . Encode::encode('UTF-8', chr(19968 + $_)) } 1 .. 16;
	my $b = billed();
	$small->safe_psql('postgres', join(";\n", map { vsql("'$_', '$LS_I'") } @names));
	is(billed(), $b + 16, 'a small index: 16 people billed');
	reused_ok(verify("'$names[15]', '$LS_I'", 'postgres', $small), '... the newest is reused',
		node => $small);
	reused_ok(verify("'$names[8]', '$LS_I'", 'postgres', $small), '... as is the ninth',
		node => $small);
	is(billed(), $b + 16, '... without a charge');
	not_reused_ok(verify("'$names[0]', '$LS_I'", 'postgres', $small), '... the oldest was dropped');
	is(billed(), $b + 17, '... and is charged again');

	# 13. the index is built from the file at the start (records written
	# here, with digests computed here), and stops at the retention; with
	# room for every answer (in 8 places old answers are dropped first)
	$small->stop;
	$small->append_conf('postgresql.conf', "juhe.reuse_max_answers = 1000\n");
	my $f = $small->data_dir . '/juheid/ledger';
	my ($n400, $n10) = map { '测' . Encode::encode('UTF-8', chr(19968 + $_)) } 100, 101;
	ledger_append_billed($f, 'JREUSE400', 400, res => 2, id => 910_000_001,
		digest => person_digest($KEY1, $n400, $LS_I));
	ledger_append_billed($f, 'JREUSE10', 10, res => 2, id => 910_000_002,
		digest => person_digest($KEY1, $n10, $LS_I));
	juheid_start($small);
	my $long = "SET juhe.reuse_answers_for = '1000d';\n";
	my $old = sub {
		my ($name) = @_;
		return $small->safe_psql('postgres', $long . vsql("'$name', '$LS_I'"));
	};
	$b = billed();
	reused_ok($old->($n400), 'a record of the file, 400 days old: reused after the start',
		node => $small, id => 910_000_001);
	reused_ok($old->($n10), '... and one 10 days old', node => $small, id => 910_000_002);
	is(billed(), $b, '... without a charge');
	$small->safe_psql('postgres', 'ALTER SYSTEM SET juhe.ledger_retention_days = 30');
	$small->reload;
	$small->poll_query_until('postgres', q{SELECT current_setting('juhe.ledger_retention_days') = '30'})
	  or die 'no reload';
	not_reused_ok($old->($n400), 'juhe.ledger_retention_days = 30: the 400-day-old answer is not reused');
	is(billed(), $b + 1, '... it is charged');
	reused_ok($old->($n10), '... the 10-day-old one still is', node => $small, id => 910_000_002);
	is(billed(), $b + 1, '... without a charge');
	$small->stop;
}

done_testing();
