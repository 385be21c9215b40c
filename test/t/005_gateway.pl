# The gateway worker: one warm connection pool for every backend, cancel of
# a request still queued in the worker (never sent), the worker killed in
# the middle of a call (a clear error, then the next call works), and 64
# backends calling at once.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use Time::HiRes;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

if (($ENV{JUHEID_GATEWAY} // 'on') ne 'on')
{
	plan skip_all => 'the gateway worker is off in this run';
}

start_mock();
my $node = juheid_node('gateway', "juhe.gateway_connections = 1\nmax_connections = 90\n");

sub worker_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'juheid gateway'");
}


ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'juheid gateway'"),
	'the worker runs');

# new backends share the worker's warm connection
mock_reset();
for my $i (1 .. 5)
{
	is($node->safe_psql('postgres',
			"SELECT (juhe_verify('张三', '11010519491231002X')).res"), '1', "backend $i verified");
}
is(mock_stats()->{requests}, 5, 'five requests');
cmp_ok(mock_stats()->{connections}, '<=', 1, 'over at most one connection');

# one slow request holds the only connection; a second request waits in
# its slot for the worker; cancelling its backend takes it back: the
# service never sees it
mock_reset();
my ($slow, $slow_out, $slow_err) = start_call($node, 'slow',
	"SET juhe.timeout_ms = 2500; SELECT juhe_verify('测试', '110101200001012016')");
for (1 .. 50)
{
	last if mock_stats()->{requests} >= 1;
	Time::HiRes::usleep(100_000);
}
is(mock_stats()->{requests}, 1, 'the slow request reached the service');
my ($queued, $q_out, $q_err) = start_call($node, 'queued',
	"SELECT juhe_verify('李四', '440304198808081238')");
ok($node->poll_query_until('postgres',
		"SELECT wait_event_type = 'Extension' FROM pg_stat_activity WHERE application_name = 'queued'"),
	'the second backend waits');
Time::HiRes::usleep(300_000);
$node->safe_psql('postgres',
	"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'queued'");
$queued->finish;
like($$q_err, qr/canceling statement due to user request/, 'queued call cancelled');
$slow->finish;
like($$slow_err, qr/JH011|timed out waiting/, 'the slow call timed out after sending (may be billed)');
is($node->safe_psql('postgres', "SELECT (juhe_verify('张三', '11010519491231002X')).res"),
	'1', 'the next call works');
is(mock_stats()->{requests}, 2, 'the cancelled queued request was never sent (slow + next only)');

# a request that waits for the worker's only connection longer than
# juhe.connect_timeout_ms has not failed to connect: it waits as long as
# its statement allows and is sent when the connection is free
mock_reset();
($slow, $slow_out, $slow_err) = start_call($node, 'slow2',
	"SET juhe.timeout_ms = 2000; SELECT juhe_verify('测试', '110101200001012016')");
for (1 .. 50)
{
	last if mock_stats()->{requests} >= 1;
	Time::HiRes::usleep(100_000);
}
my $t_queued = Time::HiRes::time();
my ($ret, $out, $err) = $node->psql('postgres',
	"SET juhe.connect_timeout_ms = 500; SELECT (juhe_verify('李四', '440304198808081238')).res");
my $waited = elapsed_since($t_queued);
is($out, '1', 'queued behind a slow request beyond juhe.connect_timeout_ms: answered, not JH010');
cmp_ok($waited, '>', 1.0, "it waited for the connection (${waited}s)");
$slow->finish;
is(mock_stats()->{requests}, 2, 'sent once, when the connection was free');
# a statement_timeout while it waits: cancelled, never sent
mock_reset();
($slow, $slow_out, $slow_err) = start_call($node, 'slow3',
	"SET juhe.timeout_ms = 2000; SELECT juhe_verify('测试', '110101200001012016')");
for (1 .. 50)
{
	last if mock_stats()->{requests} >= 1;
	Time::HiRes::usleep(100_000);
}
($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '700ms'; SELECT juhe_verify('李四', '440304198808081238')");
like($err, qr/canceling statement due to statement timeout/, 'a queued request ends with its statement_timeout');
$slow->finish;
Time::HiRes::usleep(300_000);
is(mock_stats()->{requests}, 1, 'the request cancelled in the queue was never sent');
# both waited in their slots, not in a transfer: taken back, nothing to log
ok(!$node->log_contains(qr/gave up 1 request handed to the gateway worker/),
	'requests that waited for a connection were taken back, not given up');

# the worker is terminated in the middle of a call: the backend gets a
# clear error at once, the postmaster starts the worker again
my $old_worker = worker_pid();
my ($mid, $mid_out, $mid_err) = start_call($node, 'mid',
	"SET juhe.timeout_ms = 60000; SELECT juhe_verify('测试', '110101200001012016')");
ok($node->poll_query_until('postgres',
		"SELECT wait_event_type = 'Extension' FROM pg_stat_activity WHERE application_name = 'mid'"),
	'a call waits on the worker');
Time::HiRes::usleep(300_000);
my $t0 = Time::HiRes::time();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old_worker)");
$mid->finish;
my $took = elapsed_since($t0);
like($$mid_err, qr/JH011|lost the request in the juheid gateway worker/, 'the call failed with JH011 (may be billed)');
cmp_ok($took, '<', 5, "it failed within ${took}s");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'juheid gateway' AND pid <> $old_worker"),
	'a new worker runs');
is($node->safe_psql('postgres', "SELECT (juhe_verify('张三', '11010519491231002X')).res"),
	'1', 'the next call works through the new worker');

# 64 backends at once (different people, so no memo): every call answered,
# connections to the service bounded by juhe.gateway_connections
$node->append_conf('postgresql.conf', "juhe.gateway_connections = 8\n");
$node->reload;
Time::HiRes::usleep(500_000);
mock_reset();
my @calls;
for my $i (1 .. 64)
{
	push @calls, [ start_call($node, "many$i",
			"SELECT (juhe_verify('测' || chr(19968 + $i), '11010519491231002X')).error_code") ];
}
my $answered = 0;
for my $c (@calls)
{
	$c->[0]->finish;
	if (${ $c->[1] } =~ /^0$/m)
	{
		$answered++;
	}
	else
	{
		diag("not answered: " . ${ $c->[1] } . ${ $c->[2] });
	}
}
is($answered, 64, '64 backends at once: all answered');
is(mock_stats()->{requests}, 64, '64 requests');
cmp_ok(mock_stats()->{connections}, '<=', 8, 'over at most juhe.gateway_connections connections');
ok(!$node->log_contains(qr/terminated by signal|reinitializing/), 'nothing crashed');
# the worker absorbs the barriers DROP DATABASE waits for
$node->safe_psql('postgres', 'CREATE DATABASE scratch');
my $t1 = Time::HiRes::time();
$node->safe_psql('postgres', 'DROP DATABASE scratch');
cmp_ok(elapsed_since($t1), '<', 5, 'DROP DATABASE does not wait on the worker');
like($node->safe_psql('postgres',
		"SELECT query FROM pg_stat_activity WHERE backend_type = 'juheid gateway'"),
	qr/^juheid gateway: \d+ connections open \(at most 8\), \d+ requests in flight, \d+ waiting; \d+ started/,
	'the worker shows its state in pg_stat_activity');
$node->stop;

# without shared_preload_libraries there is no worker, and since 1.1 no
# ledger and no cap either: juheid sends nothing
my $plain = juheid_node('nopreload',
	"shared_preload_libraries = ''\nsession_preload_libraries = 'juheid'\n");
is($plain->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'juheid gateway'"),
	'0', 'no worker without shared_preload_libraries');
($ret, $out, $err) = $plain->psql('postgres',
	"SELECT (juhe_verify('张三', '11010519491231002X')).res");
like($err, qr/juheid must be loaded via shared_preload_libraries/,
	'the call is refused (no ledger, no cap without preload)');
is($plain->safe_psql('postgres', 'SELECT requests, connections FROM juhe_backend_stats()'),
	'0|0', 'nothing was sent');
$plain->stop;
done_testing();
