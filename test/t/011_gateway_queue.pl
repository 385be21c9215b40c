# Requests that wait their turn: a bulk call with more requests in flight
# than the gateway worker has connections waits for them (it has not
# failed to connect), and juhe.max_requests_per_second spaces the starts of
# transfers, not the hand-overs (no burst when the connections come free).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JuheidTest;

my $gateway = ($ENV{JUHEID_GATEWAY} // 'on') eq 'on';

start_mock(slow_seconds => 2);
my $node = juheid_node('queue', "juhe.gateway_connections = 4\njuhe.timeout_ms = 5000\n");
sub q1 { return $node->safe_psql('postgres', $_[0]); }

# ------------------------------------------------------------------
# 1. 12 requests in flight, 2-second answers, 4 connections (one kept for
# single calls): every one is answered, none fails as "not sent" although
# most waited longer than juhe.connect_timeout_ms (1 s) for a connection
mock_reset();
my $t0 = Time::HiRes::time();
my $out = q1(q{
SELECT count(*) FILTER (WHERE res = 1) || ' answered, ' ||
       count(*) FILTER (WHERE failure IS NOT NULL) || ' failed'
  FROM juhe_verify_many(ARRAY(SELECT '测' || chr(20000 + g) FROM generate_series(1, 12) g),
                        array_fill('110101200001012016'::text, ARRAY[12]), 'plain', 12)});
my $took = elapsed_since($t0);
is($out, '12 answered, 0 failed', 'a bulk call waiting for connections: all 12 answered');
is(mock_stats()->{requests}, 12, 'each sent once');
if ($gateway)
{
	cmp_ok(mock_stats()->{max_concurrent}, '<=', 3,
		'bulk requests used at most 3 of the 4 connections at once');
	cmp_ok($took, '>=', 7.5, "served in turns of 3 by the worker (${took}s: 4 turns of 2 s)");
}
else
{
	cmp_ok($took, '<', 6, "direct: all 12 at once (${took}s)");
}

# ------------------------------------------------------------------
# 2. juhe.max_requests_per_second = 10 while both connections are busy with
# slow answers: the 20 requests queued behind them reach the service 0.1 s
# apart once the connections come free, not in a burst
q1(q{ALTER SYSTEM SET juhe.max_requests_per_second = 10});
q1(q{ALTER SYSTEM SET juhe.gateway_connections = 2});
$node->reload;
usleep(500_000);
mock_reset();
my @slow = map {
	[ start_call($node, "slow$_",
		"SELECT (juhe_verify('慢$_', '110101200001012016')).res") ]
} ('甲', '乙');
for (1 .. 50)
{
	last if mock_stats()->{requests} >= 2;
	usleep(100_000);
}
is(mock_stats()->{requests}, 2, 'two slow requests hold the connections');
$out = q1(q{
SELECT count(*) FILTER (WHERE res IS NOT NULL)
  FROM juhe_verify_many(ARRAY(SELECT '快' || chr(20000 + g) FROM generate_series(1, 20) g),
                        array_fill('440304198808081238'::text, ARRAY[20]), 'plain', 20)});
$_->[0]->finish for @slow;
is($out, '20', 'the 20 queued requests answered');
my @arrivals = @{ mock_stats()->{arrivals} };
is(scalar @arrivals, 22, '22 requests arrived');
my @quick = @arrivals[ 2 .. 21 ];
my $spread = $quick[-1] - $quick[0];
my $min_gap = 1e9;
$min_gap = $_ < $min_gap ? $_ : $min_gap for map { $quick[$_] - $quick[ $_ - 1 ] } 1 .. 19;
cmp_ok($spread, '>=', 1.7, "their starts are spread over ${spread}s (19 gaps of 0.1 s)");
cmp_ok($min_gap, '>=', 0.05, "no two started less than 0.05 s apart (smallest gap ${min_gap}s)");

$node->stop;
done_testing();
