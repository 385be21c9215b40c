# Query cancel and pg_terminate_backend from another session end a call in
# flight at once, while waiting for the service and while stuck in name
# resolution; the waiting backend shows juheid's wait event; the server
# never restarts.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use Time::HiRes;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

start_mock();
my $node = juheid_node('interrupts');
my $pm_pid = $node->safe_psql('postgres', 'SELECT pid FROM pg_stat_activity WHERE backend_type = \'checkpointer\'');
my $version = $node->safe_psql('postgres', 'SHOW server_version_num');
my $wait_event = $version >= 170000 ? 'JuheidRequest' : 'Extension';

sub wait_until_waiting
{
	my ($app) = @_;
	return $node->poll_query_until('postgres',
		"SELECT wait_event_type = 'Extension' FROM pg_stat_activity WHERE application_name = '$app'");
}

my %cases = (
	'waiting for the service' => "SELECT juhe_verify('测试', '110101200001012016')",
	'resolving the host name' => "SET juhe.base_url = '@{[ hang_dns_url() ]}'; "
	  . "SET juhe.connect_timeout_ms = 60000; SET juhe.timeout_ms = 60000; "
	  . "SELECT juhe_verify('张三', '11010519491231002X')");

for my $what (sort keys %cases)
{
	(my $app = "cancel $what") =~ s/ /_/g;
	my ($h, $out, $err) = start_call($node, $app, "SET juhe.timeout_ms = 60000; $cases{$what}");
	ok(wait_until_waiting($app), "$what: the backend waits");
	is($node->safe_psql('postgres',
			"SELECT wait_event FROM pg_stat_activity WHERE application_name = '$app'"),
		$wait_event, "$what: juheid's wait event");
	my $t0 = Time::HiRes::time();
	$node->safe_psql('postgres',
		"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '$app'");
	$h->finish;
	my $took = elapsed_since($t0);
	like($$err, qr/canceling statement due to user request/, "$what: cancelled with 57014");
	cmp_ok($took, '<', 1.0, "$what: cancel took under a second (${took}s)");
}

for my $what (sort keys %cases)
{
	(my $app = "terminate $what") =~ s/ /_/g;
	my ($h, $out, $err) = start_call($node, $app, "SET juhe.timeout_ms = 60000; $cases{$what}");
	ok(wait_until_waiting($app), "$what: the backend waits");
	my $pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE application_name = '$app'");
	my $t0 = Time::HiRes::time();
	is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid, 5000)"),
		't', "$what: terminated");
	$h->finish;
	cmp_ok(elapsed_since($t0), '<', 2.0, "$what: the backend ended at once");
	is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid"),
		'0', "$what: the backend is gone");
}

# nothing of that restarted the server, and every backend still works
is($node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"),
	$pm_pid, 'the server did not restart (same checkpointer)');
ok(!$node->log_contains(qr/terminated by signal|reinitializing/),
	'no backend crashed');
is($node->safe_psql('postgres', "SELECT (juhe_verify('张三', '11010519491231002X')).res"),
	'1', 'a new call works');

$node->stop;
done_testing();
