# What juheid leaves in the server log: a one-line summary when a rollback
# discards billed answers (the ledger has their order ids), requests
# abandoned after sending, and never a name or an ID number, not even in the
# statement text of a rejected signup.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

start_mock();
my $node = juheid_node('server_log');
my $offset;

# a rollback that discards three billed answers: one LOG line, without the
# statement; their order ids are in the ledger
$offset = -s $node->logfile;
$node->safe_psql('postgres', q{
BEGIN;
SELECT juhe_verify('测' || chr(20001), '11010519491231002X');
SELECT juhe_verify('测' || chr(20002), '11010519491231002X');
SELECT juhe_verify('测' || chr(20003), '11010519491231002X');
ROLLBACK;
});
my $log = slurp_file($node->logfile, $offset);
like($log, qr/LOG:  juheid: transaction rolled back after 3 billed verifications; the juhe_ledger view lists them with outcome "aborted"\n/,
	'rollback: one line');
is($node->safe_psql('postgres', q{SELECT count(*) FROM juhe_ledger
	WHERE status = 'billed' AND outcome = 'aborted' AND orderid ~ '^J[0-9]+$'}),
	3, 'rollback: the three order ids are in the ledger');
unlike($log, qr/STATEMENT/, 'rollback: no statement logged');

# a cancel while one answer has arrived and one request is in flight: the
# arrived answer is accounted for, the abandoned request is counted
$node->safe_psql('postgres', q{
CREATE FUNCTION verify_batch(text[], text[], text DEFAULT NULL, int DEFAULT 4)
RETURNS SETOF juhe_result AS '$libdir/juheid', 'juhe_verify_batch_internal' LANGUAGE C});
mock_reset();
$offset = -s $node->logfile;
my ($ret, $out, $err) = $node->psql('postgres', q{
SET statement_timeout = '1s';
SELECT * FROM verify_batch('{张三,测试}', '{11010519491231002X,110101200001012016}', 'plain', 2)});
like($err, qr/canceling statement due to statement timeout/, 'batch cancelled by statement_timeout');
is(mock_stats()->{billed}, 1, 'one answer was billed before the cancel');
$log = slurp_file($node->logfile, $offset);
if (($ENV{JUHEID_GATEWAY} // 'on') eq 'on')
{
	like($log, qr/juheid: gave up 1 request handed to the gateway worker/,
		'the request in flight is logged as given up (the worker logs its answer)');
}
else
{
	like($log, qr/juheid: abandoned 1 request to the Juhe service after sending it/,
		'the request in flight is logged as abandoned');
}
like($log, qr/transaction rolled back after 1 billed verification;/,
	'the billed answer that arrived is summed up in the log');
# the request left in flight ends within its juhe.timeout_ms: in doubt
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM juhe_ledger WHERE status = 'in flight'})
  or die 'a request stayed in flight';
is($node->safe_psql('postgres', q{SELECT string_agg(status || '/' || outcome, ',' ORDER BY status)
	FROM juhe_ledger WHERE via = 'bulk'}),
	'billed/aborted,in doubt/aborted',
	'the ledger has the billed answer and the request in doubt, both of an aborted transaction');
unlike($log, qr/STATEMENT|11010519491231002X/, 'no statement, no ID');

# rejected signups, whatever the driver put into the statement text
$node->safe_psql('postgres', q{
CREATE TABLE users (realname text, idcard text, verification juhe_result);
CREATE TRIGGER v BEFORE INSERT OR UPDATE ON users FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=verification')});
$offset = -s $node->logfile;
$node->psql('postgres', q{INSERT INTO users VALUES ('李四', '11010519491231002X')});
$node->psql('postgres', q{INSERT INTO users VALUES ('测试', '110101200001010010')});
$node->psql('postgres', q{INSERT INTO users VALUES ('测试', '12345678')});
$node->psql('postgres', q{DO $$ BEGIN
  EXECUTE format('INSERT INTO users VALUES (%L, %L)', '李四', '11010519491231002X'); END $$});
$node->psql('postgres', q{SELECT juhe_verify('李四', '11010519491231002X', 'sm4')});
$node->psql('postgres', q{SET juhe.base_url = 'http://127.0.0.1:1';
  INSERT INTO users VALUES ('李四', '440304198808081238')});
$log = slurp_file($node->logfile, $offset);
my @errors = ($log =~ /ERROR:  (identity|unknown verification mode|could not connect)/g);
is(scalar @errors, 6, 'six errors logged');
like($log, qr/name "李\*", ID "110105\*{8}002X"/, 'the person appears masked');
unlike($log, qr/11010519491231002X|110101200001010010|440304198808081238|12345678/, 'no ID number in the log');
unlike($log, qr/李四|测试/, 'no name in the log');
unlike($log, qr/STATEMENT|CONTEXT/, 'no statement or context lines');

$node->stop;
done_testing();
