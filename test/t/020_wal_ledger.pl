# The ledger and the daily count travel with the WAL (issue 20, items 1,
# 2 and 4):
#  - a streaming standby replays the primary's ledger and daily count;
#  - failover: cap 50, 40 billed, immediate stop, promote, 40 more calls:
#    the service billed 50, the new primary's ledger holds the first 40;
#  - point-in-time recovery to a restore point, with a ledger file copied
#    after the restore point (as a base backup may copy it): exactly the
#    answers before the restore point survive;
#  - pg_rewind of the old primary: its ledger becomes the new primary's;
#    what it billed alone is in the file it had, copied aside first;
#  - a synchronous standby that does not answer: nothing is sent until it
#    has the "sent" record; cancelling the wait sends nothing.
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use JuheidTest;

start_mock();

my $call = q{SELECT (juhe_verify('张三', '11010519491231002X')).res;};
my $ledger_q = q{SELECT string_agg(id || ':' || status || ':' || coalesce(orderid, '-'), ',' ORDER BY id)
	FROM juhe_ledger};
my $orderids_q = q{SELECT string_agg(orderid, ',' ORDER BY id) FROM juhe_ledger WHERE status = 'billed'};

# calls in one session, each its own transaction (each billed)
sub calls
{
	my ($node, $n) = @_;
	return $node->safe_psql('postgres', join("\n", ($call) x $n));
}

# ---------------------------------------------------------------- primary, standby
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1, has_archiving => 1);
$primary->append_conf('postgresql.conf', juheid_conf() . qq{
juhe.max_billed_per_day = 50
wal_log_hints = on
wal_keep_size = 256MB
});
juheid_start($primary);
$primary->safe_psql('postgres', 'CREATE EXTENSION juheid');
$primary->backup('b1');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b1', has_streaming => 1);
juheid_start($standby);

mock_reset();
calls($primary, 5);
$primary->safe_psql('postgres', q{SELECT pg_create_restore_point('five')});
calls($primary, 35);
is(mock_stats()->{billed}, 40, 'the primary billed 40');
$primary->wait_for_catchup($standby);

my $primary_ledger = $primary->safe_psql('postgres', $ledger_q);
my $first40 = $primary->safe_psql('postgres', $orderids_q);
is(scalar(() = $first40 =~ /J\d+/g), 40, 'the primary\'s ledger has the 40 answers');
is($standby->safe_psql('postgres', $ledger_q), $primary_ledger,
	'the standby\'s ledger is the primary\'s, row by row');
is($standby->safe_psql('postgres', q{SELECT billed_today || '/' || in_flight FROM juhe_billing}), '40/0',
	'the standby\'s daily count is the primary\'s: 40');
like($standby->safe_psql('postgres', q{SELECT count(*) FROM juhe_stats}), qr/^0$/,
	'cluster statistics stay per node: the standby counted nothing');

# the ledger's WAL records carry no name or ID number (nothing else here
# writes one to the WAL: the calls are SELECTs)
{
	my $wal = '';
	$wal .= PostgreSQL::Test::Utils::slurp_file($_) for glob($primary->data_dir . '/pg_wal/0000*');
	my $records = () = $wal =~ /2LHJ/g;    # the record's magic, JUHE_LEDGER_MAGIC, little-endian
	cmp_ok($records, '>=', 80, "the WAL holds the ledger's records ($records)");
	ok(index($wal, '11010519491231002X') < 0 && index($wal, '张三') < 0,
		'... and neither the name nor the ID number');
}

# ---------------------------------------------------------------- point-in-time recovery
# WAL archived up to here; the file copied "late": it holds all 40
my $walfile = $primary->safe_psql('postgres', q{SELECT pg_walfile_name(pg_switch_wal())});
$primary->poll_query_until('postgres', qq{SELECT last_archived_wal >= '$walfile' FROM pg_stat_archiver})
  or die 'the WAL was not archived';

my $pitr = PostgreSQL::Test::Cluster->new('pitr');
$pitr->init_from_backup($primary, 'b1', has_restoring => 1);
$pitr->append_conf('postgresql.conf', qq{
recovery_target_name = 'five'
recovery_target_action = 'promote'
});
copy($primary->data_dir . '/juheid/ledger', $pitr->data_dir . '/juheid/ledger') or die "copy: $!";
juheid_start($pitr);
$pitr->poll_query_until('postgres', q{SELECT NOT pg_is_in_recovery()}) or die 'no promotion';
my $first5 = join(',', (split /,/, $first40)[0 .. 4]);
is($pitr->safe_psql('postgres', $orderids_q), $first5,
	'recovery to the restore point: exactly the 5 answers before it, none of the 35 after');
is($pitr->safe_psql('postgres', q{SELECT count(*) FROM juhe_ledger WHERE status <> 'billed'}), '0',
	'... each with its true outcome, nothing in flight or in doubt');
is($pitr->safe_psql('postgres', q{SELECT billed_today FROM juhe_billing}), '5',
	'... and the daily count is 5');
$pitr->stop;

# ---------------------------------------------------------------- failover
$primary->stop('immediate');
$standby->promote;
$standby->poll_query_until('postgres', q{SELECT NOT pg_is_in_recovery()}) or die 'no promotion';
is($standby->safe_psql('postgres', q{SELECT billed_today FROM juhe_billing}), '40',
	'the promoted standby counts the 40 billed on the old primary');
my ($rc, $out, $err);
my $refused = 0;
for (1 .. 40)
{
	($rc, $out, $err) = $standby->psql('postgres', $call);
	$refused++ if $err =~ /daily limit of billed verifications is reached/;
}
is(mock_stats()->{billed}, 50, '40 more calls after the failover: the service billed 50 in all, the cap');
is($refused, 30, '... the other 30 were refused by the cap');
my $after = $standby->safe_psql('postgres', $orderids_q);
is(join(',', (split /,/, $after)[0 .. 39]), $first40, 'the new primary\'s ledger holds the first 40 answers');
is(scalar(() = $after =~ /J\d+/g), 50, '... and its own 10');

# ---------------------------------------------------------------- pg_rewind
# the old primary comes back on its own timeline and bills 3 alone
$primary->append_conf('postgresql.conf', "juhe.max_billed_per_day = 0\n");
juheid_start($primary);
calls($primary, 3);
my $alone = $primary->safe_psql('postgres',
	q{SELECT string_agg(orderid, ',' ORDER BY id) FROM (SELECT * FROM juhe_ledger WHERE status = 'billed' ORDER BY id DESC LIMIT 3) t});
$primary->stop;
# the README's procedure: keep the old primary's ledger before pg_rewind
my $aside = PostgreSQL::Test::Utils::tempdir . '/ledger.before-rewind';
copy($primary->data_dir . '/juheid/ledger', $aside) or die "copy: $!";
# pg_rewind copies the source's configuration: keep this node's own
my $conf = PostgreSQL::Test::Utils::slurp_file($primary->data_dir . '/postgresql.conf');
command_ok(
	[ 'pg_rewind', '--target-pgdata', $primary->data_dir,
	  '--source-server', $standby->connstr('postgres') ],
	'pg_rewind the old primary');
PostgreSQL::Test::Utils::append_to_file($primary->data_dir . '/postgresql.conf.keep', $conf);
move($primary->data_dir . '/postgresql.conf.keep', $primary->data_dir . '/postgresql.conf') or die "move: $!";
$primary->enable_streaming($standby);
juheid_start($primary);
$standby->wait_for_catchup($primary);
is($primary->safe_psql('postgres', $ledger_q), $standby->safe_psql('postgres', $ledger_q),
	'after pg_rewind the old primary\'s ledger is the new primary\'s');
my $kept = PostgreSQL::Test::Utils::slurp_file($aside);
is(scalar(grep { index($kept, $_) >= 0 } split /,/, $alone), 3,
	'the 3 answers it billed alone are in the file copied aside before pg_rewind');
unlike($primary->safe_psql('postgres', $ledger_q), qr/\Q@{[ (split \/,\/, $alone)[0] ]}\E/,
	'... and not in its ledger any more');

# ---------------------------------------------------------------- synchronous standby
$standby->append_conf('postgresql.conf', "synchronous_standby_names = '*'\njuhe.max_billed_per_day = 0\n");
$standby->reload;
is($standby->safe_psql('postgres', $call), '1', 'with a synchronous standby answering: billed');
$primary->stop;
mock_reset();
my ($h, $h_out, $h_err) = start_call($standby, 'waits', $call);
usleep(1_500_000);
is(mock_stats()->{requests} // 0, 0, 'the synchronous standby is down: nothing is sent');
like($standby->safe_psql('postgres', q{SELECT wait_event FROM pg_stat_activity WHERE application_name = 'waits'}),
	qr/SyncRep/, '... the call waits for it like a commit would');
$standby->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'waits'});
$h->finish;
like($$h_err, qr/canceling the wait for synchronous replication of juheid's ledger/, 'cancelled: an error');
like($$h_err, qr/Nothing was sent/, '... that says nothing was sent');
is(mock_stats()->{requests} // 0, 0, '... and nothing was');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM juhe_ledger WHERE status IN ('in flight', 'in doubt')}), '0',
	'... nor recorded as possibly billed');
juheid_start($primary);
is($standby->safe_psql('postgres', $call), '1', 'the standby is back: billed');

$primary->stop;
$standby->stop;
done_testing();
