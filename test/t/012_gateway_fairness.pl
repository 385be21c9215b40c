# The gateway worker under two 64-wide bulk jobs: single calls and signups
# of another role are still served at once (bulk requests hold at most 48
# of the 64 slots and leave a connection free), and what becomes of calls
# when the worker is killed.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JuheidTest;

if (($ENV{JUHEID_GATEWAY} // 'on') ne 'on')
{
	plan skip_all => 'the gateway worker is off in this run';
}

start_mock(slow_seconds => 5);
my $node = juheid_node('fair', "juhe.timeout_ms = 8000\nmax_connections = 40\nrestart_after_crash = on\n");
sub q1 { return $node->safe_psql('postgres', $_[0]); }

q1(q{
CREATE ROLE bulkrole LOGIN;
CREATE ROLE app LOGIN;
GRANT EXECUTE ON FUNCTION juhe_verify_many(text[], text[], text, integer) TO bulkrole;
GRANT EXECUTE ON FUNCTION juhe_verify(text, text, text) TO app;
CREATE TABLE signups (realname text, idcard text, v juhe_result);
CREATE TRIGGER verify BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=v', 'on_failure=defer');
GRANT INSERT, SELECT ON signups TO app;
});

sub start_as
{
	my ($role, $app, $sql) = @_;
	local $ENV{PGUSER} = $role;
	return start_call($node, $app, $sql);
}

# ------------------------------------------------------------------
# 1. Two sessions of one role, each with 64 requests in flight against
# answers that take 5 s
mock_reset();
my @bulk = map {
	[ start_as('bulkrole', "bulk$_", qq{
SELECT count(*) FROM juhe_verify_many(
  ARRAY(SELECT '慢' || chr(20000 + $_ * 100 + g) FROM generate_series(1, 64) g),
  array_fill('110101200001012016'::text, ARRAY[64]), 'plain', 64)}) ]
} 1 .. 2;
for (1 .. 100)
{
	last if mock_stats()->{requests} >= 7;
	usleep(100_000);
}
cmp_ok(mock_stats()->{requests}, '>=', 7, 'the bulk jobs keep the connections busy');
my $queued = q1(q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'bulk%' AND wait_event_type = 'Extension'});
is($queued, 2, 'both bulk jobs wait for the service');

# ten single calls of another role, one after the other, each under a
# 20 s statement_timeout
my ($worst, $answered) = (0, 0);
for my $i (1 .. 10)
{
	my $t0 = Time::HiRes::time();
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET statement_timeout = '20s'; SELECT (juhe_verify('快' || chr(19968 + $i), '440304198808081238')).error_code",
		extra_params => [ '-U', 'app' ]);
	my $took = elapsed_since($t0);
	$worst = $took if $took > $worst;
	$answered++ if $out eq '0';
	diag("single call $i: $err") if $out ne '0';
}
is($answered, 10, 'ten single calls answered during the bulk jobs');
cmp_ok($worst, '<', 5, "the slowest waited ${worst}s (less than one 5 s answer)");

# a signup with on_failure=defer during the bulk jobs: verified, not deferred
my $t1 = Time::HiRes::time();
my ($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '20s'; INSERT INTO signups VALUES ('张三', '11010519491231002X') RETURNING (v).res",
	extra_params => [ '-U', 'app' ]);
my $signup = elapsed_since($t1);
is($out, '1', 'the signup was verified');
unlike($err, qr/to be verified later/, 'not deferred');
cmp_ok($signup, '<', 5, "within ${signup}s");

# the worker holds at most 48 bulk requests, whatever the sessions ask
$node->poll_query_until('postgres', q{SELECT query ~ ' [1-9][0-9]* requests in flight'
  FROM pg_stat_activity WHERE backend_type = 'juheid gateway'})
  or die 'the worker does not show its requests';
my ($running, $waiting) = q1(q{SELECT query FROM pg_stat_activity WHERE backend_type = 'juheid gateway'})
  =~ /(\d+) requests in flight, (\d+) waiting/;
cmp_ok($running + $waiting, '<=', 48, "the bulk jobs hold at most 48 slots ($running in flight, $waiting waiting)");
q1(q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'bulk%'});
$_->[0]->finish for @bulk;
ok(1, 'the bulk jobs cancelled');
$node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM juhe_ledger WHERE status = 'in flight'})
  or die 'requests stayed in flight';

# ------------------------------------------------------------------
# 2. The worker killed (SIGKILL): PostgreSQL treats a process attached to
# shared memory that dies this way as a crash and restarts every session;
# the request in flight is in doubt after the restart
my ($h, $hout, $herr) = start_call($node, 'inflight',
	q{SELECT juhe_verify('测试', '110101200001012016')});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM juhe_ledger WHERE status = 'in flight'})
  or die 'the request did not go out';
my ($bystander, $bout, $berr) = start_call($node, 'bystander', q{SELECT pg_sleep(30)});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'bystander'})
  or die 'no bystander';
my $worker = q1(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'juheid gateway'});
kill 'KILL', $worker;
$h->finish;
$bystander->finish;
like($$herr, qr/terminat|server closed the connection/, 'the caller lost its connection');
like($$berr, qr/terminat|server closed the connection/, 'so did an unrelated session');
$node->poll_query_until('postgres', q{SELECT true}) or die 'no restart';
ok($node->log_contains(qr/background worker "juheid gateway" \(PID $worker\) was terminated by signal 9/),
	'the postmaster saw the worker die');
ok($node->log_contains(qr/terminating any other active server processes|all server processes terminated; reinitializing/),
	'and restarted every session');
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'in doubt'}), '1',
	'the request in flight is in doubt after the restart');
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'juheid gateway'})
  or die 'no worker after the restart';
is(q1(q{SELECT (juhe_verify('张三', '11010519491231002X')).res}), '1', 'calls work again');

$node->stop;
done_testing();
