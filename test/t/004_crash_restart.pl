# Whole-cluster safety: what a low-privilege role can create does not crash
# the server, and secrets parked in the catalogs by an older version are
# ignored after a restart.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

start_mock();
my $node = juheid_node('crash_restart');
my $checkpointer = sub {
	$node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
};
my $before = $checkpointer->();

# look-alike juhe_result types attached by a role with EXECUTE on the trigger
$node->safe_psql('postgres', q{
CREATE ROLE owner LOGIN;
GRANT EXECUTE ON FUNCTION juhe_verify_trigger() TO owner;
CREATE SCHEMA own AUTHORIZATION owner});
my ($ret, $out, $err) = $node->psql('postgres', q{
SET ROLE owner;
CREATE TYPE own.juhe_result AS (res text, orderid text, error_code int, reason text);
CREATE TABLE own.t (name text, id text, r own.juhe_result);
CREATE TRIGGER t BEFORE INSERT OR UPDATE ON own.t FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=r');
INSERT INTO own.t (name, id) VALUES ('张三', '11010519491231002X')});
like($err, qr/result column "r" is of type own\.juhe_result/, 'text look-alike refused');
($ret, $out, $err) = $node->psql('postgres', q{
SET ROLE owner;
CREATE TYPE own.juhe_result2 AS (res int, orderid text, error_code int, reason text, extra int8);
CREATE TABLE own.t2 (name text, id text, r own.juhe_result2);
CREATE TRIGGER t BEFORE INSERT OR UPDATE ON own.t2 FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=r');
INSERT INTO own.t2 (name, id) VALUES ('张三', '11010519491231002X')});
like($err, qr/result column "r" is of type own\.juhe_result2/, 'wider look-alike refused');
is($checkpointer->(), $before, 'the server did not restart');
ok(!$node->log_contains(qr/terminated by signal|reinitializing/), 'no backend crashed');

# a key stored in pg_db_role_setting (as a version before 1.0's check could)
# is refused at login with a WARNING, and the configured key stays in force
$node->safe_psql('postgres', q{
CREATE ROLE old_app SUPERUSER LOGIN;
INSERT INTO pg_db_role_setting VALUES (0, 'old_app'::regrole, '{juhe.key=parked}')});
{
	local $ENV{LD_PRELOAD} = $ENV{JUHEID_HANG_DNS_SO} if $ENV{JUHEID_HANG_DNS_SO};
	$node->restart;
}
($ret, $out, $err) = $node->psql('postgres', 'SHOW juhe.key', extra_params => [ '-U', 'old_app' ]);
like($err, qr/WARNING:  parameter "juhe.key" cannot be stored in the catalogs/, 'parked key refused at login');
is($out, $JuheidTest::KEY, 'the key from postgresql.conf is in force');
is($node->safe_psql('postgres', "SELECT (juhe_verify('张三', '11010519491231002X')).res"),
	'1', 'verification works after the restart');

$node->stop;
done_testing();
