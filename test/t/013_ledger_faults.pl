# The ledger when things go wrong: a crash in the middle of a large bulk
# call (only what went out is in doubt), a full disk after a request went
# out (the billed answer is kept, counted, written later), the file removed
# or replaced while the server runs (restored), and juhe.billing_timezone
# changed by a reload (today's count follows the new day).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JuheidTest;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $full = "$tmp/disk_full";
# the shims for every server of this file: while $full exists, the ledger's
# disk is full
$ENV{JUHEID_FAIL_WRITES} = $full;
$ENV{LD_PRELOAD} = join(' ', grep { defined && length } $ENV{JUHEID_HANG_DNS_SO},
	$ENV{JUHEID_FAIL_WRITES_SO});

start_mock(slow_seconds => 2);
my $node = juheid_node('faults',
	"juhe.max_billed_per_day = 100\nrestart_after_crash = on\njuhe.timeout_ms = 5000\n");
sub q1 { return $node->safe_psql('postgres', $_[0]); }
my $file = $node->data_dir . '/juheid/ledger';

sub wait_for_requests
{
	my ($n) = @_;
	for (1 .. 100)
	{
		return 1 if mock_stats()->{requests} >= $n;
		usleep(100_000);
	}
	return 0;
}

# ------------------------------------------------------------------
# 1. kill -9 a second into a 2,000-pair call (answers take 2 s, 8 in
# flight): only the requests that went out (or were handed to the gateway
# worker) are in doubt and counted, not the whole chunk of 2,000
mock_reset();
my ($big, $big_out, $big_err) = start_call($node, 'big', q{
SELECT count(*) FROM juhe_verify_many(
  ARRAY(SELECT '测' || chr(20000 + g) FROM generate_series(1, 2000) g),
  array_fill('110101200001012016'::text, ARRAY[2000]), 'plain', 8)});
wait_for_requests(7) or die 'the bulk call did not start';
usleep(500_000);
my ($billed_today, $in_flight) = split /\|/, q1(q{SELECT billed_today, in_flight FROM juhe_billing});
cmp_ok($in_flight, '<=', 8, "while it runs, in flight counts what went out ($in_flight)");
is(q1(q{SELECT (juhe_verify('张三', '11010519491231002X')).res}), '1',
	'another session is not refused by the cap of 100');
my $pid = q1(q{SELECT pid FROM pg_stat_activity WHERE application_name = 'big'});
kill 'KILL', $pid;
$big->finish;
$node->poll_query_until('postgres', q{SELECT true}) or die 'no restart';
my $seen = mock_stats()->{requests} - 1;
my $doubt = q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'in doubt'});
ok($doubt >= $seen && $doubt <= 8,
	"in doubt after the crash: $doubt, the $seen the service saw and at most the 8 in flight");
is(q1(q{SELECT billed_today FROM juhe_billing}), $doubt + 1,
	'billed today: the answered call and those in doubt');

# ------------------------------------------------------------------
# 2. The disk fills up while a request is out: its billed answer is
# returned with a warning, kept in shared memory, counted, listed; nothing
# more is sent; written as soon as the disk has room
mock_reset();
my $before = q1(q{SELECT billed_today FROM juhe_billing});
my ($slow, $slow_out, $slow_err) = start_call($node, 'slow',
	q{SELECT (juhe_verify('测试', '110101200001012016')).orderid});
wait_for_requests(1) or die 'the slow call did not go out';
open(my $fh, '>', $full) or die;
close $fh;
$slow->finish;
chomp(my $orderid = $$slow_out);
like($orderid, qr/^J\d+$/, 'the billed answer is returned');
like($$slow_err, qr/WARNING:  juheid: 1 billed answer is not in the ledger file yet/,
	'with a warning that it is not in the file yet');
is(q1(qq{SELECT status FROM juhe_ledger WHERE orderid = '$orderid'}), 'billed',
	'juhe_ledger lists it as billed');
is(q1(q{SELECT billed_today FROM juhe_billing}), $before + 1, 'it counts against the cap');
ok($node->log_contains(qr/could not record a billed request in file "juheid\/ledger".*\n.*order id $orderid; it is kept in shared memory/),
	'the log has its order id');
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT juhe_verify('李四', '440304198808081238')});
like($err, qr/could not write to file "juheid\/ledger": No space left on device/,
	'while the disk is full nothing more is sent');
is(mock_stats()->{requests}, 1, 'nothing was sent');
unlink $full;
$node->poll_query_until('postgres', q{SELECT true}) or die;
my $grep_file = sub { my $c = slurp_file($file); return index($c, $_[0]) >= 0; };
for (1 .. 50)
{
	last if $grep_file->($orderid);
	usleep(100_000);
}
ok($grep_file->($orderid), 'the gateway worker wrote it to the file when the disk had room again');
$node->restart;
is(q1(qq{SELECT status FROM juhe_ledger WHERE orderid = '$orderid'}), 'billed',
	'after a restart it is in the ledger');
is(q1(q{SELECT billed_today FROM juhe_billing}), $before + 1, 'and counted');

# the disk still full at the shutdown and at the next start: the answer
# goes to the log, and the request counts (in doubt) after the start
mock_reset();
$before = q1(q{SELECT billed_today FROM juhe_billing});
my $id0 = q1(q{SELECT max(id) FROM juhe_ledger});
($slow, $slow_out, $slow_err) = start_call($node, 'slow2',
	q{SELECT (juhe_verify('测一', '110101200001012016')).orderid});
wait_for_requests(1) or die 'the slow call did not go out';
open($fh, '>', $full) or die;
close $fh;
$slow->finish;
chomp($orderid = $$slow_out);
my $offset = -s $node->logfile;
$node->stop;
like(slurp_file($node->logfile, $offset),
	qr/a billed result could not be written to the ledger before shutdown\n.*order id $orderid; the next start counts it as in doubt/,
	'at the shutdown: logged with its order id');
$offset = -s $node->logfile;
$node->start;
ok($node->wait_for_log(qr/could not record a possibly billed request in file "juheid\/ledger": No space left on device\n.*Request \d+ of an earlier run; it is kept in shared memory/, $offset),
	'the start could not write its record either');
is(q1(q{SELECT billed_today FROM juhe_billing}), $before + 1, 'it counts against the cap all the same');
is(q1(qq{SELECT count(*) FROM juhe_ledger WHERE status = 'in doubt' AND billed_at IS NOT NULL AND orderid IS NULL
	AND id > $id0}), '1', 'juhe_ledger lists it as in doubt');
unlink $full;
$node->restart;
is(q1(q{SELECT billed_today FROM juhe_billing}), $before + 1, 'once the disk has room: still counted once');
is(q1(qq{SELECT count(*) FROM juhe_ledger WHERE status = 'in doubt' AND id > $id0}),
	'1', 'and recorded in doubt');

# ------------------------------------------------------------------
# 3. The file removed while the server runs: restored from the descriptor
# the gateway worker (or an appender) holds, nothing lost
my $all = q1(q{SELECT count(*) FROM juhe_ledger});
$offset = -s $node->logfile;
unlink $file or die "unlink: $!";
mock_reset();
for my $i (1 .. 7)
{
	q1(qq{SELECT juhe_verify('测' || chr(30000 + $i), '440304198808081238')});
}
is(mock_stats()->{billed}, 7, '7 billed after the removal');
ok(-e $file, 'the file is back');
like(slurp_file($node->logfile, $offset), qr/juheid: the ledger file "juheid\/ledger" was removed while the server was running/,
	'the removal is logged');
is(q1(q{SELECT count(*) FROM juhe_ledger}), $all + 7, 'every record is there');
$node->restart;
is(q1(q{SELECT count(*) FROM juhe_ledger}), $all + 7, 'also after a restart');

# replaced by another file (an old copy moved into place)
system('cp', $file, "$tmp/old_ledger") == 0 or die;
q1(q{SELECT juhe_verify('李四', '440304198808081238')});
$all = q1(q{SELECT count(*) FROM juhe_ledger});
$offset = -s $node->logfile;
rename("$tmp/old_ledger", $file) or die "rename: $!";
q1(q{SELECT juhe_verify('李四', '440304198808081238')});
# found by the next append through an old descriptor, or within a second by
# the gateway worker, which keeps one
my $replaced = qr/juheid: the ledger file "juheid\/ledger" was replaced while the server was running/;
for (1 .. 50)
{
	last if slurp_file($node->logfile, $offset) =~ $replaced;
	usleep(100_000);
}
like(slurp_file($node->logfile, $offset), $replaced, 'a replacement is logged');
is(q1(q{SELECT count(*) FROM juhe_ledger}), $all + 1, 'the server\'s records are kept, the new one too');
my @aside = glob($node->data_dir . '/juheid/ledger.replaced.*');
is(scalar @aside, 1, 'the replacement was moved aside, not destroyed');
$node->stop;

# ------------------------------------------------------------------
# 4. juhe.billing_timezone changed by a reload: today's count follows the
# new time zone's day (48 billed records, one an hour, in a new cluster)
my $tz = juheid_node('timezone', "juhe.billing_timezone = 'Etc/GMT-14'\n");
my $tzfile = $tz->data_dir . '/juheid/ledger';
$tz->stop;
ledger_gen($tzfile, 48, 2, 47.5 * 3600, 3600, 7_000_000, 'JTZ');
$tz->start;
my $expect = sub {
	my ($zone) = @_;
	return $tz->safe_psql('postgres', qq{
SELECT count(*) FROM juhe_ledger
 WHERE status IN ('billed', 'in doubt')
   AND (billed_at AT TIME ZONE '$zone')::date = (now() AT TIME ZONE '$zone')::date});
};
my $want = $expect->('Etc/GMT-14');
is($tz->safe_psql('postgres', q{SELECT billed_today || ' ' || billing_timezone FROM juhe_billing}),
	"$want Etc/GMT-14", "at the start: $want billed today in Etc/GMT-14");
$tz->append_conf('postgresql.conf', "juhe.billing_timezone = 'Etc/GMT+12'\n");
$tz->reload;
$tz->poll_query_until('postgres', q{SELECT billing_timezone = 'Etc/GMT+12' FROM juhe_billing})
  or die 'the count did not follow the time zone';
$want = $expect->('Etc/GMT+12');
is($tz->safe_psql('postgres', q{SELECT billed_today FROM juhe_billing}), $want,
	"after the reload: $want billed today in Etc/GMT+12, recounted");
ok($tz->log_contains(qr/juheid: the billing time zone is now Etc\/GMT\+12/), 'the recount is logged');
$tz->stop;

done_testing();
