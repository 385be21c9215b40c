# Where nothing may be sent (issue 20, items 3 and 6):
#  - a hot standby: juhe_verify(), juhe_verify_many() and CALL
#    juhe_verify_table() fail with JH030 before sending (a standby's
#    requests would be billed outside the primary's ledger and daily
#    limit); the ID toolkit works there;
#  - a logical replication subscriber whose table has the signup trigger
#    enabled ALWAYS or REPLICA: the apply worker's rows keep the answer the
#    publisher paid for, nothing is sent, and the subscriber's daily cap
#    does not stop the apply.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use JuheidTest;

start_mock();

# ---------------------------------------------------------------- standby
my $primary = juheid_node('primary', "wal_level = replica\nmax_wal_senders = 5\n");
$primary->safe_psql('postgres', q{
CREATE TABLE people (id int PRIMARY KEY, realname text, idcard text, verification juhe_result);
INSERT INTO people VALUES (1, '张三', '11010519491231002X', NULL);
});
$primary->backup('b1');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b1', has_streaming => 1);
juheid_start($standby);
$primary->wait_for_catchup($standby);

my $charged = mock_stats()->{billed};
my ($rc, $out, $err);

($rc, $out, $err) = $standby->psql('postgres',
	q{SELECT juhe_verify('张三', '11010519491231002X')});
isnt($rc, 0, 'standby: juhe_verify() fails');
like($err, qr/juheid does not verify on a standby server/, '... saying why');
($rc, $out, $err) = $standby->psql('postgres', q{
	DO $$ BEGIN PERFORM juhe_verify('张三', '11010519491231002X');
	EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'sqlstate %', SQLSTATE; END $$});
like($err, qr/sqlstate JH030/, '... with SQLSTATE JH030');

($rc, $out, $err) = $standby->psql('postgres',
	q{SELECT * FROM juhe_verify_many(ARRAY['张三'], ARRAY['11010519491231002X'])});
like($err, qr/juheid does not verify on a standby server/, 'standby: juhe_verify_many() fails before sending');

($rc, $out, $err) = $standby->psql('postgres',
	q{CALL juhe_verify_table('people', 'realname', 'idcard', 'verification')});
like($err, qr/juheid does not verify on a standby server/, 'standby: CALL juhe_verify_table() fails before sending');

($rc, $out, $err) = $standby->psql('postgres',
	q{SELECT juhe_verify('张三', '123')});
like($err, qr/juheid does not verify on a standby server/, 'standby: also for input that would be answered locally');

is(mock_stats()->{billed}, $charged, 'standby: the service billed nothing');

is($standby->safe_psql('postgres', q{SELECT juhe_idcard_valid('11010519491231002X')}), 't',
	'standby: the ID toolkit works');

# the primary still verifies
is($primary->safe_psql('postgres', q{SELECT (juhe_verify('张三', '11010519491231002X')).res}), '1',
	'the primary verifies');
is(mock_stats()->{billed}, $charged + 1, '... and is billed once');

$standby->stop;
$primary->stop;

# ---------------------------------------------------------------- logical
my $pub = juheid_node('publisher', "wal_level = logical\nmax_wal_senders = 5\nmax_replication_slots = 5\n");
my $sub = juheid_node('subscriber', "juhe.max_billed_per_day = 1\nmax_replication_slots = 5\nmax_logical_replication_workers = 4\n");

my $schema = q{
CREATE TABLE users (
    id int PRIMARY KEY,
    realname text,
    idcard text,
    verification juhe_result,
    verified_orderid text,
    verified_at timestamptz
);
} . signup_trigger();
$pub->safe_psql('postgres', $schema . q{CREATE PUBLICATION users_pub FOR TABLE users;});
$sub->safe_psql('postgres', $schema . q{ALTER TABLE users ENABLE ALWAYS TRIGGER users_verify;});
my $pubconn = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION users_sub CONNECTION '$pubconn' PUBLICATION users_pub");
$sub->wait_for_subscription_sync($pub, 'users_sub');

$charged = mock_stats()->{billed};
$pub->safe_psql('postgres', q{
INSERT INTO users (id, realname, idcard) VALUES (1, '张三', '11010519491231002X');
INSERT INTO users (id, realname, idcard) VALUES (2, '李四', '440304198808081238');
});
$pub->wait_for_catchup('users_sub');
is(mock_stats()->{billed}, $charged + 2, 'ALWAYS: the publisher paid for its 2 signups, nobody else paid');

my $q = q{SELECT string_agg(id || ':' || (verification).res || ':' || verified_orderid || ':' ||
                            (verified_at IS NOT NULL), ',' ORDER BY id) FROM users};
my $on_pub = $pub->safe_psql('postgres', $q);
is($sub->safe_psql('postgres', $q), $on_pub,
	'ALWAYS: the subscriber has the publisher\'s answers, order ids and times');

# an UPDATE of the identity on the publisher: verified there, kept here
$pub->safe_psql('postgres',
	q{UPDATE users SET realname = '阿卜杜热合曼·买买提', idcard = '650102198506152016' WHERE id = 2});
$pub->wait_for_catchup('users_sub');
is(mock_stats()->{billed}, $charged + 3, 'ALWAYS: an UPDATE of the identity is paid once, on the publisher');
is($sub->safe_psql('postgres', $q), $pub->safe_psql('postgres', $q),
	'ALWAYS: the updated answer arrives as the publisher has it');

# ENABLE REPLICA: the trigger fires only in the apply worker -- and keeps the row
$sub->safe_psql('postgres', q{ALTER TABLE users ENABLE REPLICA TRIGGER users_verify});
$pub->safe_psql('postgres',
	q{INSERT INTO users (id, realname, idcard) VALUES (3, '王𠮷', '110101199003074477')});
$pub->wait_for_catchup('users_sub');
is(mock_stats()->{billed}, $charged + 4, 'REPLICA: only the publisher paid');
is($sub->safe_psql('postgres', $q), $pub->safe_psql('postgres', $q),
	'REPLICA: the subscriber has the publisher\'s answer');

# the subscriber counted nothing against its cap of 1 and kept applying
is($sub->safe_psql('postgres', q{SELECT billed_today FROM juhe_billing}), '0',
	'the subscriber billed nothing today');
is($sub->safe_psql('postgres', q{SELECT count(*) FROM users}), '3',
	'the subscriber applied every row past its cap of 1');

# a superuser-only setting: an ordinary role cannot make its rows pass unverified
$sub->safe_psql('postgres', q{CREATE ROLE app LOGIN; GRANT INSERT ON users TO app;});
($rc, $out, $err) = $sub->psql('postgres', q{SET session_replication_role = replica},
	extra_params => [ '-U', 'app' ]);
like($err, qr/permission denied to set parameter "session_replication_role"/,
	'an ordinary role cannot set session_replication_role');

$sub->stop;
$pub->stop;
done_testing();
