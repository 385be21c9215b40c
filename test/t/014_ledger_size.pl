# A ledger of a million records: reading juhe_ledger stays within work_mem
# (backend memory does not grow with the file), pruning it locks appends
# out only for milliseconds, and a start with a million requests that never
# got an answer uses bounded memory.  The records are written by
# test/tools/ledger_gen, from the record format alone.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JuheidTest;

start_mock();
my $node = juheid_node('size', "log_min_messages = log\n");
sub q1 { return $node->safe_psql('postgres', $_[0]); }
my $file = $node->data_dir . '/juheid/ledger';
my $million = 1_000_000;

# the backend's anonymous memory (RssAnon), sampled while $sql runs
sub peak_anon_kb
{
	my ($app, $sql) = @_;
	my ($h, $out, $err) = start_call($node, $app, "SELECT pg_backend_pid(); $sql; SELECT pg_sleep(0.5)");
	my $pid;
	for (1 .. 200)
	{
		$pid = q1(qq{SELECT pid FROM pg_stat_activity WHERE application_name = '$app'});
		last if $pid;
		usleep(20_000);
	}
	my $peak = 0;
	while ($h->pumpable)
	{
		my $status = eval { slurp_file("/proc/$pid/status") } // '';
		$peak = $1 if $status =~ /RssAnon:\s+(\d+)/ && $1 > $peak;
		last if q1(qq{SELECT state = 'active' AND query LIKE '%pg_sleep(0.5)%' AND
			wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = $pid}) eq 't';
		usleep(50_000);
	}
	$h->finish;
	return ($peak, $out, $err);
}

# ------------------------------------------------------------------
# 1. Reading a million and a half records (a million 100 days old, half a
# million from yesterday)
$node->stop;
ledger_gen($file, $million, 2, 100 * 86400, 0.005, 10_000_000, 'JBIG');
ledger_gen($file, $million / 2, 2, 86400, 0.01, 12_000_000, 'JNEW');
$node->start;
my ($base_kb) = peak_anon_kb('small', q{SELECT count(*) FROM juhe_ledger WHERE false});
my ($kb, $out, $err) = peak_anon_kb('big', q{SET work_mem = '64kB'; SELECT count(*) FROM juhe_ledger});
like($$out, qr/\n1500000\n/, 'juhe_ledger reads the million and a half records');
cmp_ok($kb - $base_kb, '<', 20_000,
	"reading them, the backend's memory grew by @{[ $kb - $base_kb ]} kB (work_mem 64 kB)");

# ------------------------------------------------------------------
# 2. Pruning the million old ones while another session makes calls: the
# half million that stay are copied a slice at a time (the gateway worker
# goes on serving requests), appends wait for the rewrite only for
# milliseconds
my $offset = -s $node->logfile;
my ($calls, $calls_out, $calls_err) = start_call($node, 'calls', q{
SET juhe.max_requests_per_statement = 0;
DO $$
DECLARE
    t0 timestamptz;
    stop timestamptz := clock_timestamp() + interval '5 s';
    worst interval := '0';
    n int := 0;
BEGIN
    WHILE clock_timestamp() < stop LOOP
        n := n + 1;
        t0 := clock_timestamp();
        PERFORM juhe_verify('测' || chr(19968 + n % 20000) || chr(19968 + n / 20000), '440304198808081238');
        worst := greatest(worst, clock_timestamp() - t0);
    END LOOP;
    RAISE NOTICE 'calls: %, worst: % ms', n, round(extract(epoch FROM worst) * 1000);
END $$});
usleep(200_000);
q1(q{ALTER SYSTEM SET juhe.ledger_retention_days = 30});
$node->reload;
$node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM juhe_ledger WHERE orderid LIKE 'JBIG%'})
  or die 'not pruned';
$calls->finish;
my $log = slurp_file($node->logfile, $offset);
like($log, qr/removed $million results older than juhe.ledger_retention_days \(30\)/, 'a million results pruned');
my ($locked) = $log =~ /Appends waited for the rewrite at most ([\d.]+) ms/;
ok(defined $locked && $locked < 50, "appends waited at most @{[ $locked // '?' ]} ms for the rewrite");
diag("calls: $$calls_out / $$calls_err") unless $$calls_err =~ /calls:/;
my ($ncalls, $worst) = $$calls_err =~ /calls: (\d+), worst: (\d+) ms/;
ok(defined $worst && $worst < 300,
	"the slowest of @{[ $ncalls // '?' ]} calls made during 5 s around the prune took @{[ $worst // '?' ]} ms");
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE via = 'function'}), $ncalls, 'every call of that time is in the ledger');
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE orderid LIKE 'JNEW%'}), $million / 2, 'the recent records kept');

# ------------------------------------------------------------------
# 3. A start with a million "sent" records without a result: bounded
# memory in the postmaster, every one in doubt
q1(q{ALTER SYSTEM RESET juhe.ledger_retention_days});
$node->stop;
$node->start;
my $pm_base = peak_rss_kb($node->{_pid});
$node->stop;
ledger_gen($file, $million, 1, 3600, 0.001, 20_000_000, 'X');
my $t0 = Time::HiRes::time();
$node->start;
my $took = elapsed_since($t0);
my $pm_peak = peak_rss_kb($node->{_pid});
cmp_ok($pm_peak - $pm_base, '<', 40_000,
	"the start with a million orphans: postmaster peak memory @{[ $pm_peak - $pm_base ]} kB above an ordinary start (took ${took}s)");
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'in doubt' AND id >= 20000000}), $million,
	'every one of them in doubt');
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'in flight'}), 0, 'none left in flight');

$node->stop;
done_testing();
