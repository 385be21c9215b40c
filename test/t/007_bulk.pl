# Bulk jobs as the cluster sees them: a table job watched from another
# session and cancelled in the middle (committed batches kept, ledger
# complete, a rerun resumes and pays only for the rows still empty), the
# rate limit shared by two backends, and a 100,000-row job whose memory is
# bounded by its batch.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JuheidTest;

start_mock();
my $node = juheid_node('bulk', "juhe.max_requests_per_second = 40\n");
sub q1 { return $node->safe_psql('postgres', $_[0]); }

q1(q{
CREATE TABLE people (id int PRIMARY KEY, realname text, idcard text, v juhe_result);
INSERT INTO people
SELECT g, '测' || chr(19968 + g), '440304198808081238' FROM generate_series(1, 300) g});

# ------------------------------------------------------------------
# 1. Watch a job, cancel it in the middle
mock_reset();
my ($h, $out, $err) = start_call($node, 'table_job',
	q{CALL juhe_verify_table('people', 'realname', 'idcard', 'v', batch_size => 50, parallel => 8)});
$node->poll_query_until('postgres', q{SELECT coalesce(max(done), 0) >= 100 FROM juhe_progress})
  or die 'the job did not progress';
is(q1(q{SELECT relid::regclass || ' ' || total || ' ' || (done <= total) || ' ' ||
	(rows_per_second > 0) FROM juhe_progress}),
	'people 300 true true', 'juhe_progress: another session sees the job, its total and rate');
my $pid = q1(q{SELECT pid FROM pg_stat_activity WHERE application_name = 'table_job'});
q1(qq{SELECT pg_cancel_backend($pid)});
$h->finish;
like($$err, qr/canceling statement due to user request/, 'the job was cancelled');
like($$err, qr/NOTICE:  juheid: public\.people: 50 of 300 rows done \(16\.7%\), 50 answered/,
	'a NOTICE per batch with rows, rate and time left');
$node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM juhe_ledger WHERE status = 'in flight'})
  or die 'requests stayed in flight';

my $rows = q1(q{SELECT count(*) FROM people WHERE v IS NOT NULL});
my $billed = mock_stats()->{billed};
my $known = q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'billed'});
my $doubt = q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'in doubt'});
ok($rows >= 100 && $rows < 300, "committed batches kept ($rows rows verified)");
# a request cut off by the cancel is "in doubt": the service may or may not
# have billed it
ok($known <= $billed && $billed <= $known + $doubt,
	"the ledger accounts for every charge ($billed: $known billed, $doubt in doubt)");
ok($billed - $rows <= 8,
	'paid without a row: at most the requests in flight at the cancel (' . ($billed - $rows) . ')');
is(q1(q{SELECT count(*) FROM juhe_ledger WHERE status = 'billed' AND outcome <> 'committed'}), 0,
	"every billed answer's batch committed, the cancelled one included");

# the rerun resumes: only the rows still empty are sent
my $left = 300 - $rows;
mock_reset();
q1(q{CALL juhe_verify_table('people', 'realname', 'idcard', 'v', batch_size => 50, parallel => 8)});
is(mock_stats()->{requests}, $left, "the rerun sent only the $left rows still empty");
is(q1(q{SELECT count(*) FROM people WHERE v IS NULL}), 0, 'every row verified');

# ------------------------------------------------------------------
# 2. Two backends share juhe.max_requests_per_second (40 a second)
mock_reset();
my @calls = map {
	[ start_call($node, "rate$_", qq{
SELECT count(*) FROM juhe_verify_many(
  ARRAY(SELECT '测' || chr(25000 + $_ * 100 + g) FROM generate_series(1, 40) g),
  array_fill('440304198808081238'::text, ARRAY[40]), 'plain', 8)}) ]
} 1 .. 2;
my $t0 = Time::HiRes::time();
$_->[0]->finish for @calls;
my $took = elapsed_since($t0);
is(mock_stats()->{requests}, 80, 'both jobs sent their 40');
ok($took >= 1.9 && $took < 3.5, "80 requests at 40 a second, two backends: ${took}s (about 2)");

# ------------------------------------------------------------------
# 3. 100,000 rows: memory bounded by the batch (answered locally: an ID
# with a wrong check digit costs nothing)
q1(q{
CREATE TABLE many (realname text, idcard text, v juhe_result);
INSERT INTO many SELECT '测' || chr(19968 + g % 20000), '11010519491231002Y' FROM generate_series(1, 100000) g});
mock_reset();
my $sql = q{
SELECT pg_backend_pid();
CALL juhe_verify_table('many', 'realname', 'idcard', 'v', batch_size => 1000);
SELECT count(*) FROM many WHERE (v).error_code = 210304;
};
my ($ret, $stdout, $stderr) = $node->psql('postgres', $sql,
	extra_params => [ '-c', 'SET client_min_messages = warning' ]);
my @lines = split /\n/, $stdout;
is($lines[-1], '100000', 'every row answered locally');
is(mock_stats()->{requests}, 0, 'nothing sent');

# the backend's own memory (RssAnon, sampled every 100 ms) while it runs
# the job
sub peak_kb
{
	my ($batch) = @_;
	my ($bh, $bout, $berr) = start_call($node, "mem$batch", qq{
UPDATE many SET v = NULL;
SELECT pg_backend_pid();
CALL juhe_verify_table('many', 'realname', 'idcard', 'v', batch_size => $batch);
SELECT pg_sleep(1)});
	my $bpid;
	wait_for_pid: for (1 .. 200)
	{
		$bpid = q1(qq{SELECT pid FROM pg_stat_activity WHERE application_name = 'mem$batch'});
		last wait_for_pid if $bpid;
		usleep(50_000);
	}
	my $peak = 0;
	while ($bh->pumpable)
	{
		my $status = eval { slurp_file("/proc/$bpid/status") } // '';
		$peak = $1 if $status =~ /RssAnon:\s+(\d+)/ && $1 > $peak;
		last if q1(qq{SELECT state = 'active' AND query LIKE '%pg_sleep%'
			FROM pg_stat_activity WHERE pid = $bpid}) eq 't';
		usleep(100_000);
	}
	$bh->finish;
	return $peak;
}
# a leak per row or per batch would show here (100 batches); glibc hands
# large freed blocks back, so the samples see what stays allocated
my $kb = peak_kb(1000);
ok($kb > 0 && $kb < 32_000, "private memory while 100,000 rows are verified in batches of 1000: at most ${kb} kB");

# ------------------------------------------------------------------
# 4. Jobs whose backend is terminated leave no entry behind in
# juhe_progress: 40 of them (more than its 32 places), then a live one is
# listed
q1(q{
CREATE TABLE slowjob (realname text, idcard text, v juhe_result);
INSERT INTO slowjob SELECT '测' || chr(19968 + g), '110101200001012016' FROM generate_series(1, 8) g});
for my $round (1 .. 5)
{
	my @jobs = map {
		[ start_call($node, "doomed$_", q{CALL juhe_verify_table('slowjob', 'realname', 'idcard', 'v', batch_size => 1)}) ]
	} 1 .. 8;
	$node->poll_query_until('postgres', q{SELECT count(*) = 8 FROM juhe_progress p
		JOIN pg_stat_activity a USING (pid) WHERE a.application_name LIKE 'doomed%'})
	  or die "round $round: the jobs are not listed";
	q1(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'doomed%'});
	$_->[0]->finish for @jobs;
	$node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name LIKE 'doomed%'})
	  or die 'terminated backends stayed';
}
is(q1(q{SELECT count(*) FROM juhe_progress}), '0', '40 terminated jobs: none listed any more');
my ($live) = start_call($node, 'live', q{CALL juhe_verify_table('slowjob', 'realname', 'idcard', 'v', batch_size => 1)});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM juhe_progress p
		JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'live'}),
	'a running job is listed');
q1(q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'live'});
$live->finish;

$node->stop;
done_testing();
