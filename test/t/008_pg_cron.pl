# The README's verify-later recipe, run for real: signups go in while the
# service cannot be reached (the trigger's on_failure=defer), and pg_cron
# (Debian's postgresql-15-cron) runs juhe_verify_table every minute until
# they are verified.  Needs pg_cron for this PostgreSQL; takes up to two
# minutes (pg_cron 1.4 schedules by the minute); run once, with the gateway.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
plan skip_all => "pg_cron is not installed for this PostgreSQL ($pkglibdir)"
  unless -e "$pkglibdir/pg_cron.so";
plan skip_all => 'the recipe runs once, with juhe.gateway = on'
  if ($ENV{JUHEID_GATEWAY} // 'on') ne 'on';

start_mock();
my $node = juheid_node('pg_cron', q{
shared_preload_libraries = 'juheid,pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
});
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_cron;
CREATE TABLE signups (id serial PRIMARY KEY, email text, realname text, idcard text,
                      verification juhe_result, verified_at timestamptz);
CREATE TRIGGER verify BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=verification',
                                       'verified_at=verified_at', 'on_failure=defer')});

# the provider is unreachable: the signups go in, unverified
my ($ret, $out, $err) = $node->psql('postgres', q{
SET juhe.base_url = 'http://127.0.0.1:1';
INSERT INTO signups (email, realname, idcard) VALUES
  ('zs@example.com', '张三', '11010519491231002X'),
  ('ls@example.com', '李四', '440304198808081238')});
is($ret, 0, 'the signups went in while the service was unreachable');
like($err, qr/row accepted, to be verified later/, 'with a warning each');
is($node->safe_psql('postgres', 'SELECT count(*) FROM signups WHERE verification IS NULL'),
	2, 'both unverified');

# the recipe
$node->safe_psql('postgres', q{
SELECT cron.schedule('juheid-verify-later', '* * * * *',
  $$CALL juhe_verify_table('signups', 'realname', 'idcard', 'verification',
                           verified_at_column => 'verified_at')$$)});
mock_reset();
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM signups WHERE verification IS NULL})
  or die 'pg_cron did not verify the signups';
is($node->safe_psql('postgres',
		q{SELECT string_agg((verification).res || '/' || (verified_at IS NOT NULL), ',' ORDER BY id) FROM signups}),
	'1/true,1/true', 'pg_cron verified both: results and verified_at written');
is(mock_stats()->{requests}, 2, 'two requests');
is($node->safe_psql('postgres', q{SELECT count(*) FROM juhe_ledger WHERE via = 'bulk' AND status = 'billed' AND outcome = 'committed'}),
	2, 'in the ledger, committed');
$node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM cron.job_run_details WHERE status = 'succeeded'})
  or die 'no run recorded';
$node->safe_psql('postgres', q{SELECT cron.unschedule('juheid-verify-later')});
$node->stop;
done_testing();
