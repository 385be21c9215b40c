# pg_upgrade from Debian's PostgreSQL 15 to the PostgreSQL under test, as
# the README's procedure says: what juheid keeps -- the ledger
# ($PGDATA/juheid/ledger) and the cluster statistics (pg_stat/juheid.stat,
# written at the old server's clean shutdown) -- is copied into the new
# data directory before its first start.  Afterwards billed_today, the
# ledger's rows and juhe_stats are as before, the daily cap holds, and the
# next call is counted.  Runs when the server under test is newer than 15
# and a PostgreSQL 15 with juheid installed is at /usr/lib/postgresql/15
# (the test command installs both); skipped otherwise.
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use JuheidTest;

my $old_install = $ENV{JUHEID_OLD_INSTALL} // '/usr/lib/postgresql/15';
my $new = PostgreSQL::Test::Cluster->new('new');
plan skip_all => 'the server under test is PostgreSQL 15 itself'
  if $new->pg_version->major <= 15;
plan skip_all => "no PostgreSQL 15 with juheid at $old_install"
  unless -x "$old_install/bin/pg_ctl" && -e "$old_install/lib/juheid.so";

start_mock();

my $old = PostgreSQL::Test::Cluster->new('old', install_path => $old_install);
$old->init;
$old->append_conf('postgresql.conf', juheid_conf() . "juhe.max_billed_per_day = 7\n");
juheid_start($old);
$old->safe_psql('postgres', q{CREATE EXTENSION juheid});

# Debian's 15.20 gives every table column an attribute option (pg_attver)
# that an older 18 (Debian's 18.6 source) cannot restore: pg_upgrade then
# fails on any table, whatever the extension.  Where that is so, the
# signups go into a database that is dropped before the upgrade (the
# billed answers stay in the ledger); juheid's part is upgraded all the
# same.
my $attver = $old->safe_psql('postgres', q{
	CREATE TABLE probe (a int);
	SELECT count(*) FROM pg_attribute WHERE attrelid = 'probe'::regclass
	   AND array_to_string(attoptions, ',') LIKE 'pg_attver=%'});
$old->safe_psql('postgres', q{DROP TABLE probe});
my $new_has_attver = `strings "@{[ $new->config_data('--bindir') ]}/postgres" 2>/dev/null` =~ /pg_attver/;
my $with_table = !($attver > 0 && !$new_has_attver);
diag("this 15 writes pg_attver attribute options the new server does not know: the table with the trigger is not upgraded")
  unless $with_table;
my $db = 'postgres';
unless ($with_table)
{
	$old->safe_psql('postgres', q{CREATE DATABASE signups});
	$old->safe_psql('signups', q{CREATE EXTENSION juheid});
	$db = 'signups';
}
$old->safe_psql($db, q{
CREATE TABLE users (id int PRIMARY KEY, realname text, idcard text,
                    verification juhe_result, verified_orderid text, verified_at timestamptz);
} . signup_trigger() . q{
INSERT INTO users (id, realname, idcard) VALUES
  (1, '张三', '11010519491231002X'), (2, '李四', '440304198808081238'),
  (3, '阿卜杜热合曼·买买提', '650102198506152016');
});
$old->safe_psql('postgres', q{
SELECT juhe_verify('张三', '11010519491231002X');
SELECT juhe_verify('王𠮷', '110101199003074477');
});
my $billed = mock_stats()->{billed};
is($billed, 5, 'old (15): 5 billed answers');
my $ledger_q = q{SELECT string_agg(orderid, ',' ORDER BY id) FROM juhe_ledger WHERE status = 'billed'};
my $stats_q = q{SELECT sum(billed) FROM juhe_stats};
my $old_ledger = $old->safe_psql('postgres', $ledger_q);
my $old_rows = $old->safe_psql($db, q{SELECT string_agg(verified_orderid, ',' ORDER BY id) FROM users});
is($old->safe_psql('postgres', q{SELECT billed_today FROM juhe_billing}), '5', 'old: billed_today 5');
$old->safe_psql('postgres', q{DROP DATABASE signups}) unless $with_table;
$old->stop;

# the new cluster; pg_upgrade; then juheid's files
$new->init(no_data_checksums => 1);
$new->append_conf('postgresql.conf', juheid_conf() . "juhe.max_billed_per_day = 7\n");
my $work = PostgreSQL::Test::Utils::tempdir;
command_ok(
	[ 'pg_upgrade', '--no-sync', '--copy',
	  '-b', $old->config_data('--bindir'), '-B', $new->config_data('--bindir'),
	  '-d', $old->data_dir, '-D', $new->data_dir,
	  '-s', $new->host, '-p', $old->port, '-P', $new->port ],
	'pg_upgrade 15 → new');
make_path($new->data_dir . '/juheid', { mode => 0700 });
ok(copy($old->data_dir . '/juheid/ledger', $new->data_dir . '/juheid/ledger'),
	'the ledger file copied');
chmod 0600, $new->data_dir . '/juheid/ledger';
ok(copy($old->data_dir . '/pg_stat/juheid.stat', $new->data_dir . '/pg_stat/juheid.stat'),
	'the statistics file copied');
juheid_start($new);

is($new->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'juheid'}),
	$new->safe_psql('postgres', q{SELECT default_version FROM pg_available_extensions WHERE name = 'juheid'}),
	'new: the extension came through');
is($new->safe_psql('postgres', q{SELECT billed_today FROM juhe_billing}), '5', 'new: billed_today 5');
is($new->safe_psql('postgres', $ledger_q), $old_ledger, 'new: the same billed rows in the ledger');
is($new->safe_psql('postgres', $stats_q), '5', 'new: juhe_stats as before');
SKIP:
{
	skip 'the table was not upgraded (pg_attver)', 1 unless $with_table;
	is($new->safe_psql('postgres', q{SELECT string_agg(verified_orderid, ',' ORDER BY id) FROM users}),
		$old_rows, 'new: the table kept its answers');
}

# the cap of 7 holds across the upgrade: two more calls, then JH020
$new->safe_psql('postgres', $with_table
	? q{INSERT INTO users (id, realname, idcard) VALUES (4, '张三', '11010519491231002X')}
	: q{SELECT juhe_verify('张三', '11010519491231002X')});
is($new->safe_psql('postgres', q{SELECT (juhe_verify('李四', '440304198808081238')).res}), '1',
	'new: juhe_verify works' . ($with_table ? ', and the trigger' : ''));
is($new->safe_psql('postgres', q{SELECT billed_today FROM juhe_billing}), '7', 'new: the next calls are counted');
my ($rc, $out, $err) = $new->psql('postgres', q{SELECT juhe_verify('王𠮷', '110101199003074477')});
like($err, qr/daily limit of billed verifications is reached/, 'new: the cap of 7 holds');
is(mock_stats()->{billed}, 7, 'the service billed 7 in all, against a cap of 7');

$new->stop;
done_testing();
