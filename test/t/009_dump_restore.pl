# Moving a database with pg_dump: a full dump of a database that uses the
# juhe_idcard domain, juhe_result in a table and the signup trigger with
# verified rows restores every row and sends nothing (the trigger is
# created after the data); a --data-only dump into an existing schema fires
# the trigger on every restored row (each is verified again, and paid)
# unless --disable-triggers is used.  What the README says.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

start_mock();
my $node = juheid_node('dump_restore');
my $dir = PostgreSQL::Test::Utils::tempdir();
my $schema = q{
CREATE TABLE signups (id int PRIMARY KEY, realname text, idcard juhe_idcard,
                      verification juhe_result, verified_at timestamptz);
CREATE TRIGGER verify BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=verification',
                                       'verified_at=verified_at', 'on_mismatch=accept');
CREATE TABLE audit (id int, answer juhe_result);
};
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION juheid');
$node->safe_psql('src', $schema);
$node->safe_psql('src', q{
INSERT INTO signups (id, realname, idcard) VALUES
  (1, '张三', '11010519491231002X'), (2, '李四', '440304198808081238'), (3, '王五', '440304198808081238');
INSERT INTO audit SELECT id, verification FROM signups});
my $rows = q{SELECT string_agg(id || ':' || idcard || ':' || verification::text || ':' || verified_at, ',' ORDER BY id) FROM signups};
my $before = $node->safe_psql('src', $rows);
my $audit = $node->safe_psql('src', q{SELECT string_agg(answer::text, ',' ORDER BY id) FROM audit});
like($before, qr/^1:11010519491231002X:\(1,J\d+,0,/, 'the source rows are verified');

# a full dump restored into a new database
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', "$dir/full.sql" ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
mock_reset();
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst'),
	'-f', "$dir/full.sql" ], 'restore the full dump');
is($node->safe_psql('dst', $rows), $before, 'every row came back, results and verified_at as they were');
is($node->safe_psql('dst', q{SELECT string_agg(answer::text, ',' ORDER BY id) FROM audit}), $audit,
	'juhe_result values in another table too');
is(mock_stats()->{requests}, 0, 'the restore sent no request');
is($node->safe_psql('dst', q{SELECT count(*) FROM pg_trigger WHERE tgname = 'verify'}), 1,
	'the trigger is back, after the data');

# --data-only into an existing schema: the trigger fires on the restored rows
$node->command_ok([ 'pg_dump', '--data-only', '-t', 'signups', '-d', $node->connstr('src'),
	'-f', "$dir/data.sql" ], 'pg_dump --data-only');
$node->safe_psql('postgres', 'CREATE DATABASE dst2');
$node->safe_psql('dst2', 'CREATE EXTENSION juheid');
$node->safe_psql('dst2', $schema);
mock_reset();
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst2'),
	'-f', "$dir/data.sql" ], 'restore the data-only dump');
is(mock_stats()->{requests}, 3, 'without --disable-triggers every restored row is verified again (3 requests)');
isnt($node->safe_psql('dst2', $rows), $before, 'and gets new order ids and times');

$node->command_ok([ 'pg_dump', '--data-only', '--disable-triggers', '-t', 'signups',
	'-d', $node->connstr('src'), '-f', "$dir/data_notrig.sql" ], 'pg_dump --data-only --disable-triggers');
$node->safe_psql('dst2', 'TRUNCATE signups');
mock_reset();
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst2'),
	'-f', "$dir/data_notrig.sql" ], 'restore it with --disable-triggers (as a superuser)');
is(mock_stats()->{requests}, 0, 'with --disable-triggers nothing is sent');
is($node->safe_psql('dst2', $rows), $before, 'and the rows are exactly as dumped');

$node->stop;
done_testing();
