# What requests cost, for the whole cluster: the daily cap under racing
# backends, cluster statistics against the mock's own counts in several
# databases and roles, and a ledger that keeps every billed or possibly
# billed request through cancel, pg_terminate_backend, kill -9, an
# immediate shutdown and a torn record; and nothing sent without preload.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use PostgreSQL::Test::Cluster;
use Test::More;
use Time::HiRes qw(usleep);
use JuheidTest;

start_mock();
my $gateway = ($ENV{JUHEID_GATEWAY} // 'on') eq 'on';
my $node = juheid_node('accounting', "juhe.max_billed_per_day = 100\nrestart_after_crash = on\n");

sub q1 { return $node->safe_psql('postgres', $_[0]); }

sub wait_for
{
	my ($what, $cond) = @_;
	for (1 .. 300)
	{
		return 1 if $cond->();
		usleep(50_000);
	}
	die "timed out waiting for $what";
}

# ------------------------------------------------------------------
# 1. The daily cap holds with 8 backends racing: 160 distinct people
# against juhe.max_billed_per_day = 100
q1(q{
CREATE FUNCTION race(w int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    refused int := 0;
BEGIN
    FOR i IN 1..20 LOOP
        BEGIN
            PERFORM juhe_verify('测' || chr(19968 + w * 40 + i), '440304198808081238');
        EXCEPTION WHEN SQLSTATE 'JH020' THEN
            refused := refused + 1;
        END;
    END LOOP;
    RETURN refused;
END $$});
mock_reset();
my @racers = map { [ start_call($node, "race$_", "SELECT race($_)") ] } 1 .. 8;
my $refused = 0;
for my $r (@racers)
{
	$r->[0]->finish;
	my $out = ${ $r->[1] };
	chomp $out;
	$refused += $out if $out =~ /^\d+$/;
	is(${ $r->[2] }, '', 'racer: no error beyond the cap') if ${ $r->[2] } ne '';
}
is($refused, 60, 'the cap refused 60 of 160 calls');
is(mock_stats()->{billed}, 100, 'the service billed exactly 100');
is(mock_stats()->{requests}, 100, 'no request was sent after the cap');
is(q1(q{SELECT billed_today || '/' || max_billed_per_day || '/' || in_flight FROM juhe_billing}),
	'100/100/0', 'juhe_billing: 100 of 100 today, none in flight');
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'billed'}), 100,
	'the ledger has the 100 billed answers');

# the count survives a restart
$node->restart;
is(q1(q{SELECT billed_today FROM juhe_billing}), 100, 'the daily count survives a restart');
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT juhe_verify('张三', '11010519491231002X')});
like($err, qr/daily limit of billed verifications is reached/, 'and the cap still holds');
is(mock_stats()->{requests}, 100, 'nothing sent after the restart');

# ------------------------------------------------------------------
# 2. Cluster statistics equal the mock's counts: two databases, two roles
q1(q{ALTER SYSTEM SET juhe.max_billed_per_day = 0});
$node->reload;
q1(q{CREATE DATABASE other});
$node->safe_psql('other', q{CREATE EXTENSION juheid});
q1(q{CREATE ROLE app1 LOGIN; CREATE ROLE app2 LOGIN});
for my $db ('postgres', 'other')
{
	$node->safe_psql($db, q{GRANT EXECUTE ON FUNCTION juhe_verify(text, text, text) TO app1, app2});
}
q1(q{SELECT juhe_stats_reset()});

my %mock = (requests => 0, billed => 0);
for my $db ('postgres', 'other')
{
	for my $role ('app1', 'app2')
	{
		mock_reset();			# 218X answers 503 once per reset
		$node->psql($db, q{
SET juhe.retries = 1;
SELECT juhe_verify('张三', '11010519491231002X');			-- match
SELECT juhe_verify('李四', '440304198808081238');			-- match
SELECT juhe_verify('王五', '440304198808081238');			-- mismatch
SELECT juhe_verify('测试', '110101200001010010');			-- 210301
SELECT juhe_verify('测试', '110101200001011128');			-- 10012
SELECT juhe_verify('张三', '11010519491231002Y');			-- local
BEGIN;
SELECT juhe_verify('李四', '440304198808081238');			-- match
SELECT juhe_verify('李四', '440304198808081238');			-- memo
COMMIT;
SELECT juhe_verify('测试', '11010120000101218X');			-- 503, retry, match
SELECT juhe_verify('测试', '110101200001012163');			-- billed, dropped: in doubt
}, extra_params => [ '-U', $role ]);
		my $m = mock_stats();
		$mock{$_} += $m->{$_} for ('requests', 'billed');
	}
}
is(q1(q{SELECT count(*) FROM juhe_stats}), 4, 'juhe_stats: one row per database and role');
is(q1(q{SELECT sum(requests) FROM juhe_stats}), $mock{requests},
	"requests equal the mock's ($mock{requests})");
is(q1(q{SELECT sum(billed + in_doubt) FROM juhe_stats}), $mock{billed},
	"billed and in doubt equal the mock's charges ($mock{billed})");
# 9 requests (3 people, 2 service errors, 1 more in the transaction, 218X
# twice, 2163); billed 5 (4 matches, 1 mismatch); the memo and the local
# answer send nothing
my $expect = 'plain|9|5|4|1|1|2|1|1|1|2|{"10012": 1, "210301": 1}';
for my $db ('postgres', 'other')
{
	for my $role ('app1', 'app2')
	{
		is(q1(qq{SELECT mode, requests, billed, matches, mismatches, in_doubt, service_errors,
			local_answers, memo_hits, retries, transport_failures, service_error_codes
			FROM juhe_stats WHERE datname = '$db' AND rolname = '$role'}),
			$expect, "juhe_stats for $db/$role");
	}
}
is(q1(q{SELECT count(DISTINCT datname || rolname) FROM juhe_ledger
	WHERE rolname IN ('app1', 'app2') AND status IN ('billed', 'in doubt')}), 4,
	'the ledger names database and role');

# saved at a clean shutdown, read back at start
my $before = q1(q{SELECT sum(requests) || '/' || sum(billed) FROM juhe_stats});
$node->restart;
is(q1(q{SELECT sum(requests) || '/' || sum(billed) FROM juhe_stats}), $before,
	'statistics survive a clean restart');
ok(!-e $node->data_dir . '/pg_stat/juheid.stat', 'the statistics file is gone once read');

# ------------------------------------------------------------------
# 3. The ledger keeps what the caller's fate would lose
q1(q{SELECT juhe_stats_reset()});
mock_reset();
my $ledger0 = q1(q{SELECT coalesce(max(id), 0) FROM juhe_ledger});

# start a call, wait until the service has billed it, return the handle
sub billed_call
{
	my ($app, $sql) = @_;
	my $billed = mock_stats()->{billed};
	my @call = start_call($node, $app, $sql);
	wait_for("the $app call to be billed", sub { mock_stats()->{billed} > $billed });
	my $pid = q1(qq{SELECT pid FROM pg_stat_activity WHERE application_name = '$app'});
	return ($pid, @call);
}

# a cancel while the request is in flight (2171: billed on receipt, slow)
my ($pid, $h) = billed_call('cancelled', q{SELECT juhe_verify('测试', '110101200001012171')});
q1(qq{SELECT pg_cancel_backend($pid)});
$h->finish;
# terminated mid-statement
($pid, $h) = billed_call('terminated', q{SELECT juhe_verify('测试', '110101200001012171')});
q1(qq{SELECT pg_terminate_backend($pid)});
$h->finish;
# the gateway worker gives a request it still holds juhe.timeout_ms (3 s)
$node->poll_query_until('postgres',
	qq{SELECT count(*) = 0 FROM juhe_ledger WHERE id > $ledger0 AND status = 'in flight'})
  or die 'requests stayed in flight';
is(q1(qq{SELECT string_agg(status || '/' || outcome, ',') FROM juhe_ledger WHERE id > $ledger0}),
	'in doubt/aborted,in doubt/aborted',
	'cancel and terminate: both requests in doubt, their transactions aborted');

# kill -9 of the backend after the answer arrived: the server restarts
($pid, $h) = billed_call('killed', q{SELECT juhe_verify('张三', '11010519491231002X'), pg_sleep(60)});
$node->poll_query_until('postgres',
	qq{SELECT count(*) = 1 FROM juhe_ledger WHERE pid = $pid AND status = 'billed'})
  or die 'the answer did not reach the ledger';
kill 'KILL', $pid;
$h->finish;
$node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
is(q1(qq{SELECT status || '/' || outcome || '/' || (orderid ~ '^J[0-9]+\$')
	FROM juhe_ledger WHERE pid = $pid}),
	'billed/aborted/true', 'kill -9 after the answer: billed, with its order id, aborted');
is(q1(q{SELECT count(*) FROM juhe_stats}), 0, 'a crash loses the statistics (not corrupts them)');

# kill -9 while the request is in flight: in doubt once the server is back
($pid, $h) = billed_call('killed_in_flight', q{SELECT juhe_verify('测试', '110101200001012171')});
kill 'KILL', $pid;
$h->finish;
$node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
is(q1(qq{SELECT status || '/' || outcome FROM juhe_ledger WHERE id > $ledger0 AND pid = $pid}),
	'in doubt/aborted', 'kill -9 in flight: in doubt after the restart');
ok($node->wait_for_log(qr/juheid: 1 requests of an earlier run whose answer never arrived are now in doubt/),
	'the start says how many requests it marked in doubt');

# an immediate shutdown after the answer arrived
($pid, $h) = billed_call('immediate', q{SELECT juhe_verify('李四', '440304198808081238'), pg_sleep(60)});
$node->poll_query_until('postgres',
	qq{SELECT count(*) = 1 FROM juhe_ledger WHERE pid = $pid AND status = 'billed'})
  or die 'the answer did not reach the ledger';
$node->stop('immediate');
$h->finish;
$node->start;
is(q1(qq{SELECT status || '/' || outcome FROM juhe_ledger WHERE pid = $pid}),
	'billed/aborted', 'immediate shutdown: billed, aborted');

is(q1(qq{SELECT count(*) FROM juhe_ledger WHERE id > $ledger0}), mock_stats()->{billed},
	'every charge of the service is in the ledger');

# ------------------------------------------------------------------
# 4. A torn record at the end, and a damaged one, are skipped, never misread
my $all = q1(q{SELECT count(*) FROM juhe_ledger});
my $billed_all = q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'billed'});
my $file = $node->data_dir . '/juheid/ledger';
$node->stop;
{
	open(my $fh, '+<', $file) or die "open $file: $!";
	binmode $fh;
	my $size = -s $file;
	die "ledger size $size is not whole records" if $size % 384;
	# damage the first billed record (a byte of its order id); "sent"
	# records stay in the file until a prune, and are not rows
	my ($at, $rec) = (0, '');
	for (;; $at += 384)
	{
		seek($fh, $at, 0);
		read($fh, $rec, 384) == 384 or die 'no billed record in the ledger';
		last if ord(substr($rec, 8, 1)) == 2;
	}
	seek($fh, $at + 200, 0);
	print $fh "\xff";
	# and append the first 100 bytes of the last one: a torn write
	seek($fh, $size - 384, 0);
	read($fh, my $torn, 100);
	seek($fh, 0, 2);
	print $fh $torn;
	close $fh;
}
my $offset = -s $node->logfile;
$node->start;
like(slurp_file($node->logfile, $offset), qr/juheid: ledger checked: .* 484 unreadable bytes skipped/,
	'the start reports the unreadable bytes');
# the damaged result is skipped; its request still has its "sent" record,
# so it is listed (and counted) as in doubt, not lost
is(q1(q{SELECT count(*) FILTER (WHERE status = 'billed') || ' ' || count(*) FROM juhe_ledger}),
	($billed_all - 1) . " $all", 'the damaged record is skipped, the others read; its request is in doubt');
is((-s $file) % 384, 0, 'the file holds whole records again');
q1(q{SELECT juhe_verify('王五', '440304198808081238')});
is(q1(q{SELECT count(*) FROM juhe_ledger}), $all + 1, 'a new record after the repair is read');
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'billed' AND orderid !~ '^J[0-9]+$'}), 0,
	'no billed row with a garbled order id');

# ------------------------------------------------------------------
# 5. juhe.ledger_retention_days: a record written here (with our own
# CRC-32C) 400 days old is read, then pruned on reload by the running
# server, and at server start
ledger_append_billed($file, 'JOLD1', 400);
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE orderid = 'JOLD1'}), 1,
	'a record 400 days old is read (our CRC-32C agrees with the server)');
# the 256-byte records of 1.1.0 are still read (an upgraded server's file)
append_record_v1($file, 'JV11', 1);
is(q1(q{SELECT status || ' ' || res || ' ' || datname FROM juhe_ledger WHERE orderid = 'JV11'}),
	'billed 1 postgres', 'a record in the 1.1.0 format is read');
$offset = -s $node->logfile;
q1(q{ALTER SYSTEM SET juhe.ledger_retention_days = 30});
$node->reload;
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM juhe_ledger WHERE orderid = 'JOLD1'})
  or die 'the old record was not pruned';
like(slurp_file($node->logfile, $offset),
	qr/juheid: removed 1 results older than juhe.ledger_retention_days \(30\)/,
	'pruned while the server runs, on reload');
my $kept = q1(q{SELECT count(*) FROM juhe_ledger});
q1(q{SELECT juhe_verify('李四', '440304198808081238')});
is(q1(q{SELECT count(*) FROM juhe_ledger}), $kept + 1,
	'records written after the rewrite go to the new file');
$node->stop;
ledger_append_billed($file, 'JOLD2', 31);
append_record_v1($file, 'JOLD3', 32);
$offset = -s $node->logfile;
$node->start;
ok($node->wait_for_log(qr/juheid: removed 2 results older than juhe.ledger_retention_days \(30\)/, $offset),
	'pruned at server start (both formats)');
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE orderid LIKE 'JOLD%'}), 0, 'no old record left');
is(q1(q{SELECT count(*) FROM juhe_ledger}), $kept + 1, 'the others kept');
$node->stop;

# ------------------------------------------------------------------
# 6. Without shared_preload_libraries nothing is sent; the toolkit works
my $bare = PostgreSQL::Test::Cluster->new('no_preload');
$bare->init;
$bare->append_conf('postgresql.conf', qq{
juhe.base_url = '@{[ mock_url() ]}'
juhe.key = '$JuheidTest::KEY'
});
$bare->start;
$bare->safe_psql('postgres', 'CREATE EXTENSION juheid');
mock_reset();
($ret, $out, $err) = $bare->psql('postgres',
	q{SELECT juhe_verify('张三', '11010519491231002X')}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/55000: juheid must be loaded via shared_preload_libraries/, 'no preload: 55000');
like($err, qr/HINT:  Add juheid to shared_preload_libraries/, 'with a hint');
is(mock_stats()->{requests}, 0, 'no preload: nothing sent');
($ret, $out, $err) = $bare->psql('postgres', q{SELECT count(*) FROM juhe_stats});
like($err, qr/juheid must be loaded via shared_preload_libraries/, 'no preload: juhe_stats says so');
($ret, $out, $err) = $bare->psql('postgres', q{SELECT count(*) FROM juhe_ledger});
like($err, qr/juheid must be loaded via shared_preload_libraries/, 'no preload: juhe_ledger says so');
is($bare->safe_psql('postgres', q{SELECT juhe_idcard_valid('11010519491231002X')}), 't',
	'no preload: the ID toolkit works');

$bare->stop;

done_testing();

# the 256-byte record of 1.1.0, billed, $days old (ledger_append_billed
# writes the current 384-byte one)
sub append_record_v1
{
	my ($path, $orderid, $days) = @_;
	my $at = int((time() - 946684800 - $days * 86400) * 1_000_000);
	my $body = pack('V C C C c l< Q< q< q< Q< V V l< l< a64 a64 a64',
		0x4A484C31, 2, 1, 0, 1, 0, 800_000_000 + $days, $at, $at, 0,
		0, 0, 0, 0, 'postgres', 'postgres', $orderid);
	ledger_write_record($path, $body);
	return;
}
