# No memory growth in a backend across thousands of calls (curl handles,
# header lists, json objects and OpenSSL contexts are freed on every path),
# and memory per row stays bounded when the trigger accepts failing rows.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

start_mock();
my $node = juheid_node('memory');

sub status_kb
{
	my ($pid, $field) = @_;
	my $s = slurp_file("/proc/$pid/status");
	return $s =~ /^$field:\s+(\d+)/m ? $1 : die "no $field";
}

my $bg = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $bg->query_safe('SELECT pg_backend_pid()');
$bg->query_safe(q{
CREATE FUNCTION calls(n int, m text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM (
    SELECT juhe_verify('测' || chr(19968 + g % 20000) || chr(19968 + g / 20000), '11010519491231002X', m) AS v
      FROM generate_series(1, n) g) s
   WHERE (v).error_code = 0 $$;
CREATE FUNCTION errors(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE k bigint := 0;
BEGIN
  FOR i IN 1..n LOOP
    BEGIN
      PERFORM juhe_verify('测试', CASE i % 4 WHEN 0 THEN '110101200001012032'
                                            WHEN 1 THEN '110101200001012024'
                                            WHEN 2 THEN '110101200001012091'
                                            ELSE '110101200001012075' END);
    EXCEPTION WHEN OTHERS THEN k := k + 1;
    END;
  END LOOP;
  RETURN k;
END $$});

# warm up every path once, then measure
$bg->query_safe("SELECT calls(300, 'plain') + calls(300, 'aes') + calls(300, 'rsa')");
$bg->query_safe('SELECT errors(160)');
# the backend's own memory (RssAnon: malloc, palloc, curl, OpenSSL); the
# shared memory it touches (RssShmem: WAL buffers, now that every ledger
# record is WAL-logged, and shared buffers) is not its growth
my $rss0 = status_kb($pid, 'RssAnon');
my $shm0 = status_kb($pid, 'RssShmem');
is($bg->query_safe("SELECT calls(2000, 'plain')"), '2000', '2,000 plain calls');
is($bg->query_safe("SELECT calls(1500, 'aes')"), '1500', '1,500 aes calls');
is($bg->query_safe("SELECT calls(1500, 'rsa')"), '1500', '1,500 rsa calls');
is($bg->query_safe('SELECT errors(600)'), '600', '600 failing calls');
my $growth = status_kb($pid, 'RssAnon') - $rss0;
cmp_ok($growth, '<', 2048, "private resident set grew by ${growth} kB (< 2 MB)");
diag('shared memory touched meanwhile: ' . (status_kb($pid, 'RssShmem') - $shm0) . ' kB more');

# on_failure=accept: 5,000 failing rows of 10 kB in one statement
$bg->query_safe(q{
SET client_min_messages = error;
SET log_min_messages = error;
CREATE TABLE accept_rows (name text, id text, pad text, res int);
CREATE TRIGGER acc BEFORE INSERT OR UPDATE ON accept_rows FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=res', 'on_failure=accept');
SET juhe.base_url = 'http://127.0.0.1:1';
INSERT INTO accept_rows SELECT '张三', '11010519491231002X', repeat('x', 10000) FROM generate_series(1, 50)});
my $hwm0 = status_kb($pid, 'VmHWM');
$bg->query_safe(q{INSERT INTO accept_rows
  SELECT '张三', '11010519491231002X', repeat('x', 10000) FROM generate_series(1, 5000)});
my $hwm_growth = status_kb($pid, 'VmHWM') - $hwm0;
cmp_ok($hwm_growth, '<', 20000, "peak memory grew by ${hwm_growth} kB for 50 MB of accepted rows");
is($bg->query_safe('SELECT count(*) || \'/\' || count(res) FROM accept_rows'), '5050/0',
	'every row accepted, none with a result');
$bg->quit;

$node->stop;
done_testing();
