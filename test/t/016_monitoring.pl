# Monitoring with Debian's prometheus-postgres-exporter and
# examples/monitoring/juheid-queries.yaml: a few billed calls, a mismatch,
# a service error and a request in doubt, then our own exporter process
# (127.0.0.1, a free port, connected as a role with only pg_monitor) and
# the metrics it serves: juhe_stats per database, role and mode, the service
# errors per code, the latency histogram, juhe_billing's count and cap.
# With promtool (Debian: prometheus) the alert rules
# examples/monitoring/juheid-alerts.yml are checked and their unit tests run.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use File::Basename qw(dirname);
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

my $EXPORTER = '/usr/bin/prometheus-postgres-exporter';
plan skip_all => "$EXPORTER is not installed (Debian package prometheus-postgres-exporter)"
  unless -x $EXPORTER;
my $EXAMPLES = dirname(__FILE__) . '/../../examples/monitoring';
die "no $EXAMPLES/juheid-queries.yaml" unless -r "$EXAMPLES/juheid-queries.yaml";

# the slow magic ID waits 5 s: the call gives up after juhe.timeout_ms
start_mock(slow_seconds => 5);
my $node = juheid_node('monitoring', "juhe.max_billed_per_day = 10\n");
sub q1 { return $node->safe_psql('postgres', $_[0]); }

q1(q{
CREATE ROLE app LOGIN;
GRANT EXECUTE ON ALL ROUTINES IN SCHEMA public TO app;
CREATE ROLE monitor LOGIN;
GRANT pg_monitor TO monitor;
});

# calls as app, each its own transaction (no memo between them)
sub as_app
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', 'app' ]);
	return "$out$err";
}
mock_reset();
is(as_app(q{SELECT (juhe_verify('张三', '11010519491231002X')).res}), '1', 'a match');
is(as_app(q{SELECT (juhe_verify('李四', '440304198808081238')).res}), '1', 'another match');
is(as_app(q{SELECT (juhe_verify('王五', '440304198808081238')).res}), '2', 'a mismatch');
is(as_app(q{SELECT (juhe_verify('张三', '11010519491231002X', 'aes')).res}), '1', 'a match in aes mode');
is(as_app(q{SELECT (juhe_verify('某人', '110101200001010010')).error_code}), '210301',
	'a service error (210301, not billed)');
like(as_app(q{SET juhe.timeout_ms = 500; SELECT juhe_verify('测试', '110101200001012016')}),
	qr/may have been billed/, 'a request in doubt (JH011: no answer within juhe.timeout_ms)');
is(as_app(q{SELECT (juhe_verify('张三', '11010519491231002Y')).error_code}), '210304',
	'an ID answered locally (nothing sent)');
is(mock_stats()->{billed}, 4, 'the mock billed four');
is(q1(q{SELECT billed_today || ' ' || max_billed_per_day FROM juhe_billing}), '5 10',
	'juhe_billing: 4 billed + 1 in doubt of a cap of 10');

# ------------------------------------------------------------------
# the exporter
my $dir = PostgreSQL::Test::Utils::tempdir_short();
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $dsn = sprintf('host=%s port=%d user=monitor dbname=postgres sslmode=disable',
	$node->host, $node->port);
my $pg_major = q1('SHOW server_version_num') / 10000;
my $epid = fork();
die "fork: $!" unless defined $epid;
if ($epid == 0)
{
	open(STDOUT, '>', "$dir/exporter.log");
	open(STDERR, '>&', \*STDOUT);
	$ENV{DATA_SOURCE_NAME} = $dsn;
	# 0.11's bgwriter collector reads pg_stat_bgwriter columns that moved
	# to pg_stat_checkpointer in PostgreSQL 17 (its error has nothing to do
	# with juheid)
	exec($EXPORTER, "--web.listen-address=127.0.0.1:$port",
		"--extend.query-path=$EXAMPLES/juheid-queries.yaml",
		($pg_major >= 17 ? ('--no-collector.bgwriter') : ()))
	  or die "exec: $!";
}
END
{
	if ($epid)
	{
		kill 'TERM', $epid;
		waitpid($epid, 0);
	}
}

sub scrape
{
	return `curl -s --noproxy '*' --max-time 20 http://127.0.0.1:$port/metrics`;
}
my $metrics = '';
for (1 .. 100)
{
	$metrics = scrape();
	last if $metrics =~ /^juhe_billing_billed_today/m;
	usleep(100_000);
}
ok($metrics =~ /^juhe_billing_billed_today/m, "the exporter serves juheid's metrics on 127.0.0.1:$port")
  or diag(slurp_file("$dir/exporter.log"));

# "name{labels} value" lines, as name => [ [ {labels}, value ], ... ]
my %m;
sub parse
{
	my ($text) = @_;
	%m = ();
	for my $line (split /\n/, $text)
	{
		next unless $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my %l;
		$l{$1} = $2 while $labels =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
		push @{ $m{$name} }, [ \%l, $value ];
	}
	return;
}
parse($metrics);

# the value of the one series of $name whose labels include %want
sub value
{
	my ($name, %want) = @_;
	my @hits = grep {
		my $l = $_->[0];
		!grep { ($l->{$_} // "\0") ne $want{$_} } keys %want
	} @{ $m{$name} // [] };
	return 'none' unless @hits;
	return 'several' if @hits > 1;
	return $hits[0][1];
}

is(value('pg_up'), '1', 'pg_up 1: the exporter reached the cluster as monitor (pg_monitor only)');
is(value('pg_exporter_last_scrape_error'), '0', 'the last scrape had no error');
unlike(slurp_file("$dir/exporter.log"), qr/level=error|permission denied/,
	'the exporter logged no error (pg_monitor may read juhe_stats and juhe_billing)');

my %plain = (datname => 'postgres', rolname => 'app', mode => 'plain');
my %aes = (%plain, mode => 'aes');
is(value('juhe_stats_requests_total', %plain), '5', 'plain: requests 5 (the local answer sent nothing)');
is(value('juhe_stats_billed_total', %plain), '3', 'plain: billed 3');
is(value('juhe_stats_matches_total', %plain), '2', 'plain: matches 2');
is(value('juhe_stats_mismatches_total', %plain), '1', 'plain: mismatches 1');
is(value('juhe_stats_in_doubt_total', %plain), '1', 'plain: in doubt 1');
is(value('juhe_stats_service_errors_total', %plain), '1', 'plain: service errors 1');
is(value('juhe_stats_local_answers_total', %plain), '1', 'plain: local answers 1');
is(value('juhe_stats_transport_failures_total', %plain), '1', 'plain: transport failures 1 (the request in doubt)');
is(value('juhe_stats_billed_total', %aes) . ' ' . value('juhe_stats_matches_total', %aes)
	. ' ' . value('juhe_stats_in_doubt_total', %aes), '1 1 0', 'aes: billed 1, matches 1, in doubt 0');
is(value('juhe_service_errors_total', %plain, error_code => '210301'), '1',
	'juhe_service_errors_total{error_code="210301"} 1');
like($metrics, qr/^# TYPE juhe_stats_billed_total counter$/m, 'the counters are typed counter');

# latency: the request in doubt took about 0.5 s (bucket <= 0.5 s or
# <= 1 s), the others a few ms
is(value('juhe_stats_latency_seconds_count', %plain), '5', 'the latency histogram counts the 5 requests');
is(value('juhe_stats_latency_seconds_bucket', %plain, le => '+Inf'), '5', '... its +Inf bucket too');
is(value('juhe_stats_latency_seconds_bucket', %plain, le => '0.25'), '4',
	'four answered within 0.25 s');
is(value('juhe_stats_latency_seconds_bucket', %plain, le => '1'), '5', 'the one in doubt within 1 s');
my $sum = value('juhe_stats_latency_seconds_sum', %plain);
ok($sum >= 0.5 && $sum < 1.5, "latency sum $sum s (the 0.5 s timeout and four quick answers)");
my $p99 = value('juhe_stats_latency_p99_seconds', %plain);
ok($p99 eq '0.5' || $p99 eq '1', "p99 $p99 s: the bucket of the request in doubt");
is(value('juhe_stats_latency_p50_seconds', %plain) <= 0.25 ? 'ok' : 'slow', 'ok', 'p50 within 0.25 s');

my %tz = (billing_timezone => 'Asia/Shanghai');
is(value('juhe_billing_billed_today', %tz), '5', 'juhe_billing_billed_today{billing_timezone="Asia/Shanghai"} 5');
is(value('juhe_billing_max_billed_per_day', %tz), '10', 'juhe_billing_max_billed_per_day 10');
is(value('juhe_billing_in_flight', %tz), '0', 'juhe_billing_in_flight 0');
my $day_start = value('juhe_billing_day_start_timestamp_seconds', %tz);
my $now = time();
ok($day_start =~ /^[0-9.e+]+$/ && $now - $day_start >= 0 && $now - $day_start < 86400,
	"the billing day started within the last 24 hours ($day_start)");

# what a new call does to the next scrape
as_app(q{SELECT juhe_verify('李四', '440304198808081238')});
# (a scrape without juheid's metrics is shown and tried again; it happened
# once, in an early run of this test, and was not seen again)
my ($again, $tries) = ('', 0);
while ($tries++ < 20)
{
	$again = scrape();
	last if $again =~ /^juhe_billing_billed_today/m;
	diag("a scrape without juheid's metrics:\n" . substr($again, 0, 2000));
	usleep(200_000);
}
parse($again);
is(value('juhe_stats_billed_total', %plain) . ' ' . value('juhe_billing_billed_today', %tz), '4 6',
	'one more billed call: billed 4, billed today 6 at the next scrape'
	  . ($tries > 1 ? " (scraped $tries times)" : ''));

# ------------------------------------------------------------------
# the alert rules, where Debian's prometheus package (promtool) is installed
SKIP:
{
	my $promtool = '/usr/bin/promtool';
	skip 'promtool is not installed (Debian package prometheus)', 2 unless -x $promtool;
	my $rules = `cd '$EXAMPLES' && '$promtool' check rules juheid-alerts.yml 2>&1`;
	like($rules, qr/SUCCESS: 3 rules found/, 'promtool check rules juheid-alerts.yml') or diag($rules);
	my $tests = `cd '$EXAMPLES' && '$promtool' test rules juheid-alerts.test.yml 2>&1`;
	like($tests, qr/SUCCESS/, 'promtool test rules juheid-alerts.test.yml (near the cap, at the cap, no cap, in doubt)')
	  or diag($tests);
}

done_testing();
