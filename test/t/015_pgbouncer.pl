# juheid behind PgBouncer in transaction pooling (Debian's pgbouncer, our
# own process and config in the test's temp dir, 127.0.0.1 only): the
# signup trigger, juhe_verify_many and CALL juhe_verify_table work through
# it, each verified row paid once; SET LOCAL stays in its transaction while
# a plain SET leaks to the next client of the same server connection (the
# hazard, shown with a pool of one); the functions' own mode argument as the
# way around SET.
#
# Helper of its own (not in JuheidTest.pm): Client, a psql session to
# PgBouncer kept open for many statements.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use File::Basename qw(dirname);
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

my $PGBOUNCER = '/usr/sbin/pgbouncer';
plan skip_all => "$PGBOUNCER is not installed (Debian package pgbouncer)"
  unless -x $PGBOUNCER;

# ------------------------------------------------------------------
# Client: one psql process, many statements, each answered in turn
package Client;

my $count = 0;

sub new
{
	my ($class, $port, $db, $user) = @_;
	my $self = bless { in => '', out => '', err => '', n => 0 }, $class;
	$self->{timer} = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
	$self->{h} = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'VERBOSITY=verbose', '-h', '127.0.0.1',
			'-p', $port, '-U', $user, '-d', $db, '-f', '-'
		],
		'<', \$self->{in}, '>', \$self->{out}, '2>', \$self->{err},
		$self->{timer});
	$self->query('SELECT 1');
	return $self;
}

# send $sql; don't wait
sub send
{
	my ($self, $sql) = @_;
	$self->{out} = $self->{err} = '';
	$self->{mark} = 'client_done_' . ++$self->{n};
	$self->{timer}->start($PostgreSQL::Test::Utils::timeout_default);
	$self->{in} .= "$sql\n;\n\\echo $self->{mark}\n\\warn $self->{mark}\n";
	$self->{h}->pump_nb;
	return;
}

# whether what was sent is answered, without waiting
sub done
{
	my ($self) = @_;
	$self->{h}->pump_nb;
	return $self->{out} =~ /$self->{mark}\n/ && $self->{err} =~ /$self->{mark}\n/;
}

# wait for the answer; (stdout, stderr) in list context, stdout otherwise
sub wait
{
	my ($self) = @_;
	$self->{h}->pump
	  until ($self->{out} =~ /$self->{mark}\n/ && $self->{err} =~ /$self->{mark}\n/)
	  || $self->{timer}->is_expired;
	die "psql timed out: $self->{err}" if $self->{timer}->is_expired;
	my ($out, $err) = ($self->{out}, $self->{err});
	s/\n?$self->{mark}\n// for $out, $err;
	return wantarray ? ($out, $err) : $out;
}

sub query
{
	my ($self, $sql) = @_;
	$self->send($sql);
	return $self->wait;
}

# a statement that must not fail
sub ok_query
{
	my ($self, $sql) = @_;
	my ($out, $err) = $self->query($sql);
	die "failed through pgbouncer: $sql\n$err" if $err =~ /ERROR/;
	return $out;
}

sub quit
{
	my ($self) = @_;
	$self->{in} .= "\\q\n";
	$self->{h}->finish;
	return;
}

package main;

# ------------------------------------------------------------------
# cluster, mock, pgbouncer
start_mock();
# 25 requests a second for the cluster: the table job below takes a couple
# of seconds, long enough to look at it while it runs
my $node = juheid_node('pgbouncer', "juhe.max_requests_per_second = 25\n");
sub q1 { return $node->safe_psql('postgres', $_[0]); }

q1(q{
CREATE ROLE app LOGIN;
GRANT EXECUTE ON ALL ROUTINES IN SCHEMA public TO app;
CREATE TABLE users (
    id serial PRIMARY KEY,
    realname text,
    idcard text,
    verification juhe_result,
    verified_orderid text,
    verified_at timestamptz);
CREATE TRIGGER users_verify BEFORE INSERT OR UPDATE ON users FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=verification',
    'orderid=verified_orderid', 'verified_at=verified_at',
    'on_mismatch=reject', 'on_error=reject', 'on_failure=reject');
GRANT SELECT, INSERT ON users TO app;
GRANT USAGE ON SEQUENCE users_id_seq TO app;
CREATE TABLE people (id int PRIMARY KEY, realname text, idcard text, v juhe_result);
INSERT INTO people SELECT g, '测' || chr(19968 + g), '440304198808081238' FROM generate_series(1, 40) g;
ALTER TABLE people OWNER TO app;
});

my $dir = PostgreSQL::Test::Utils::tempdir_short();
my $bport = PostgreSQL::Test::Cluster::get_free_port();
my ($sock, $pgport) = ($node->host, $node->port);

# examples/pgbouncer/pgbouncer.ini as it is, but for its paths and ports,
# a pool of 2 server connections per user ("app"), and a second entry for
# the same database with a pool of 1 ("shared"), so that its clients take
# turns on one server connection
my $ini = slurp_file(dirname(__FILE__) . '/../../examples/pgbouncer/pgbouncer.ini');
my %set = (
	listen_port => $bport,
	unix_socket_dir => $dir,
	auth_file => "$dir/userlist.txt",
	logfile => "$dir/pgbouncer.log",
	pidfile => "$dir/pgbouncer.pid",
	default_pool_size => 2,
	max_client_conn => 20);
for my $k (sort keys %set)
{
	$ini =~ s/^$k = .*$/$k = $set{$k}/m or die "no $k in the sample pgbouncer.ini";
}
$ini =~ s{^app = host=\S+ port=\d+ dbname=app$}
  {app = host=$sock port=$pgport dbname=postgres\nshared = host=$sock port=$pgport dbname=postgres pool_size=1}m
  or die 'no "app" entry in the sample pgbouncer.ini';
die 'the sample pgbouncer.ini is not in transaction pooling'
  unless $ini =~ /^pool_mode = transaction$/m && $ini =~ /^auth_type = scram-sha-256$/m;
PostgreSQL::Test::Utils::append_to_file("$dir/pgbouncer.ini", $ini);
# clients log in with app's password; the auth file has its SCRAM secret
q1(q{SET password_encryption = 'scram-sha-256'; ALTER ROLE app PASSWORD 'app-secret'});
$ENV{PGPASSWORD} = 'app-secret';
PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt",
	'"app" "' . q1(q{SELECT rolpassword FROM pg_authid WHERE rolname = 'app'}) . "\"\n");

my $bpid = fork();
die "fork: $!" unless defined $bpid;
if ($bpid == 0)
{
	open(STDOUT, '>', "$dir/pgbouncer.out");
	open(STDERR, '>&', \*STDOUT);
	exec($PGBOUNCER, "$dir/pgbouncer.ini") or die "exec: $!";
}
END
{
	if ($bpid)
	{
		kill 'TERM', $bpid;
		waitpid($bpid, 0);
	}
}
my $up = 0;
for (1 .. 100)
{
	$up = 1, last
	  if system('psql', '-XAtq', '-h', '127.0.0.1', '-p', $bport, '-U', 'app',
		'-d', 'app', '-c', 'SELECT 1', '-o', '/dev/null') == 0;
	usleep(100_000);
}
ok($up, "pgbouncer (transaction pooling) listens on 127.0.0.1:$bport")
  or diag(slurp_file("$dir/pgbouncer.out"));
{
	local $ENV{PGPASSWORD} = 'wrong';
	my ($ok, $stderr) = (1, '');
	IPC::Run::run([ 'psql', '-XAtq', '-h', '127.0.0.1', '-p', $bport, '-U', 'app', '-d', 'app',
		'-c', 'SELECT 1' ], '>', \my $stdout, '2>', \$stderr) and $ok = 0;
	like($stderr, qr/password authentication failed|SASL authentication failed/, 'pgbouncer checks the password (scram-sha-256)');
}

sub charges
{
	my $json = mock_json();
	my %s = (requests => 0, billed => 0, plain => 0, aes => 0, rsa => 0);
	$s{$1} = $2 while $json =~ /"(requests|billed)":(\d+)/g;
	$s{plain} = $1 if $json =~ m{"/idcard/query":(\d+)};
	$s{aes} = $1 if $json =~ m{"/idcard/queryEncry":(\d+)};
	$s{rsa} = $1 if $json =~ m{"/idcard/queryEncryV2":(\d+)};
	return \%s;
}

# ------------------------------------------------------------------
# 1. The signup trigger
my $ca = Client->new($bport, 'app', 'app');
mock_reset();
$ca->ok_query(q{INSERT INTO users (realname, idcard) VALUES ('张三', '11010519491231002X')});
is($ca->ok_query(q{SELECT (verification).res || ' ' || (verified_orderid IS NOT NULL) || ' ' ||
	(verified_at IS NOT NULL) FROM users WHERE idcard = '11010519491231002X'}),
	'1 true true', 'signup through pgbouncer: the match is stored with its order id');
my ($out, $err) = $ca->query(q{INSERT INTO users (realname, idcard) VALUES ('王五', '440304198808081238')});
like($err, qr/ERROR:  JH001: .*"王\*".*440304\*\*\*\*\*\*\*\*1238/s,
	'signup through pgbouncer: a mismatch is rejected with JH001, the person masked');
is($ca->ok_query('SELECT count(*) FROM users'), '1', 'the rejected row is not stored');
is_deeply([ @{ charges() }{qw(requests billed)} ], [ 2, 2 ],
	'two signups, two requests, both paid (a mismatch is billed too)');

# two people in one INSERT, the same one twice: paid once each
mock_reset();
$ca->ok_query(q{INSERT INTO users (realname, idcard) VALUES
	('李四', '440304198808081238'), ('王𠮷', '110101199003074477'), ('李四', '440304198808081238')});
is($ca->ok_query('SELECT count(*) FROM users WHERE (verification).res = 1'), '4',
	'a three-row INSERT through pgbouncer: every row verified');
is(charges()->{billed}, 2, 'the same person twice in one statement is paid once');

# ------------------------------------------------------------------
# 2. juhe_verify_many
mock_reset();
is($ca->ok_query(q{SELECT string_agg(ord || ':' || coalesce(res::text, '-') || ':' || error_code, ' ' ORDER BY ord)
	FROM juhe_verify_many(ARRAY['张三', '李四', '王五', '张三', '某人'],
	  ARRAY['11010519491231002X', '440304198808081238', '440304198808081238',
	        '11010519491231002X', '110101200001010010'])}),
	'1:1:0 2:1:0 3:2:0 4:1:0 5:-:210301',
	'juhe_verify_many through pgbouncer: one row per pair, in order');
is_deeply([ @{ charges() }{qw(requests billed)} ], [ 4, 3 ],
	'four distinct pairs sent (the duplicate is not), three paid (210301 is not billed)');

# ------------------------------------------------------------------
# 3. CALL juhe_verify_table: the procedure commits after every batch on
# the server, inside one statement of the client's; PgBouncer hands the
# server connection back only when the server is idle again, so the job
# keeps its connection for the whole CALL and its commits are real
mock_reset();
$ca->send(q{CALL juhe_verify_table('people', 'realname', 'idcard', 'v', parallel => 4, batch_size => 10)});
my $cb = Client->new($bport, 'app', 'app');
my ($mid, $job_pid1, $job_pid2) = (-1, '', '');
for (1 .. 600)
{
	$mid = $cb->ok_query('SELECT count(*) FROM people WHERE v IS NOT NULL');
	$job_pid1 ||= q1('SELECT pid FROM juhe_progress') if $mid >= 10;
	last if $mid >= 10;
	usleep(20_000);
}
my $running = !$ca->done;
ok($mid >= 10 && $mid < 40 && $running,
	"while the CALL runs, another client through pgbouncer sees its committed batches ($mid of 40)");
for (1 .. 600)
{
	last if q1('SELECT coalesce(max(done), 40) >= 30 FROM juhe_progress') eq 't';
	usleep(20_000);
}
$job_pid2 = q1('SELECT pid FROM juhe_progress');
($out, $err) = $ca->wait;
unlike($err, qr/ERROR/, 'CALL juhe_verify_table through pgbouncer succeeded');
like($err, qr/NOTICE:  00000: juheid: public\.people: 10 of 40 rows done \(25\.0%\), 10 answered/,
	'its NOTICE per batch reaches the client through pgbouncer');
ok($job_pid1 ne '' && $job_pid1 eq $job_pid2,
	'the job kept one server connection from batch to batch');
is($cb->ok_query('SELECT count(*) FROM people WHERE (v).res = 2'), '40', 'all 40 rows verified');
is_deeply([ @{ charges() }{qw(requests billed)} ], [ 40, 40 ], 'each row paid once');
is(q1(q{SELECT count(DISTINCT l.xid) || ' ' || count(*) FILTER (WHERE l.outcome = 'committed')
	FROM juhe_ledger l JOIN people p ON (p.v).orderid = l.orderid}),
	'4 40', 'the ledger: four transactions (one per batch of 10), every answer committed');
mock_reset();
$ca->ok_query(q{CALL juhe_verify_table('people', 'realname', 'idcard', 'v', parallel => 4, batch_size => 10)});
is(charges()->{requests}, 0, 'a second CALL through pgbouncer finds nothing left to pay for');

# a cancel goes through pgbouncer to the backend waiting for the service
# (the slow magic ID: sent, so it is in doubt afterwards); psql sends it on
# SIGINT
mock_reset();
my ($cout, $cerr) = ('', '');
my $ch = IPC::Run::start(
	[ 'psql', '-XAtq', '-h', '127.0.0.1', '-p', $bport, '-U', 'app', '-d', 'app',
	  '-c', q{SELECT juhe_verify('测试', '110101200001012016')} ],
	'>', \$cout, '2>', \$cerr);
for (1 .. 100)
{
	last if charges()->{requests} >= 1;
	usleep(50_000);
}
my $t0 = Time::HiRes::time();
$ch->signal('INT');
$ch->finish;
my $took = elapsed_since($t0);
like($cerr, qr/canceling statement due to user request/,
	"psql's cancel through pgbouncer ends a call waiting for the service");
ok($took < 2, sprintf("within %.2f s", $took));
$node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM juhe_ledger WHERE status = 'in flight'})
  or die 'a request stayed in flight';
$cb->quit;
$ca->quit;

# ------------------------------------------------------------------
# 4. Settings with a pool of one server connection ("shared"): two
# clients, one server session
my $c1 = Client->new($bport, 'shared', 'app');
my $c2 = Client->new($bport, 'shared', 'app');
is($c1->ok_query('SELECT pg_backend_pid()'), $c2->ok_query('SELECT pg_backend_pid()'),
	'two clients of the pool of one use the same server connection');

# SET LOCAL ends with its transaction
mock_reset();
is($c1->ok_query(q{BEGIN;
SET LOCAL juhe.mode = 'rsa';
SELECT (juhe_verify('张三', '11010519491231002X')).res || ' ' || current_setting('juhe.mode');
COMMIT}), '1 rsa', 'SET LOCAL juhe.mode = rsa: the call in that transaction is in rsa mode');
is($c2->ok_query(q{SELECT current_setting('juhe.mode') || ' ' ||
	(juhe_verify('张三', '11010519491231002X')).res}),
	'plain 1', 'the next client on the same server connection is back in plain mode');
is_deeply([ @{ charges() }{qw(rsa plain)} ], [ 1, 1 ],
	'one request went to the rsa endpoint, the other client\'s to the plain one');

# a plain SET stays with the server connection: the next client gets it
# (PgBouncer does not reset a server connection in transaction pooling)
$c1->ok_query('SET juhe.max_requests_per_statement = 1');
is($c2->ok_query('SHOW juhe.max_requests_per_statement'), '1',
	'the hazard: a plain SET by one client is seen by another client of the same server connection');
mock_reset();
is($c2->ok_query(q{SELECT string_agg(coalesce(res::text, '-') || ' ' || coalesce(failure, '-'), ' | ' ORDER BY ord)
	FROM juhe_verify_many(ARRAY['张三', '李四'], ARRAY['11010519491231002X', '440304198808081238'])}) =~ s/(JH021):.*/$1/r,
	'1 - | - JH021', "the other client's two-pair call hits the first client's limit of one: the second pair fails with JH021");
is(charges()->{requests}, 1, 'it sent one request, then stopped');
$c1->ok_query('RESET juhe.max_requests_per_statement');
is($c2->ok_query('SHOW juhe.max_requests_per_statement'), '10000', 'RESET undoes it for everyone');

# the same limit as SET LOCAL does not leak
is($c1->ok_query(q{BEGIN;
SET LOCAL juhe.max_requests_per_statement = 1;
SHOW juhe.max_requests_per_statement;
COMMIT}), '1', 'SET LOCAL juhe.max_requests_per_statement = 1 holds in its transaction');
is($c2->ok_query('SHOW juhe.max_requests_per_statement'), '10000', '... and is gone for the next client');

# the functions' own argument instead of SET
mock_reset();
is($c1->ok_query(q{SELECT (juhe_verify('张三', '11010519491231002X', 'aes')).res}), '1',
	"juhe_verify(name, id, 'aes')");
is($c2->ok_query(q{SELECT string_agg(res::text, ',' ORDER BY ord) FROM juhe_verify_many(
	ARRAY['张三', '李四'], ARRAY['11010519491231002X', '440304198808081238'], mode => 'rsa')}), '1,1',
	"juhe_verify_many(..., mode => 'rsa')");
is($c1->ok_query('SHOW juhe.mode'), 'plain', 'the session default is untouched');
is_deeply([ @{ charges() }{qw(aes rsa plain billed)} ], [ 1, 2, 0, 3 ],
	'the argument chose the endpoint: one aes request, two rsa, none plain; three paid');
$c1->quit;
$c2->quit;

# ------------------------------------------------------------------
# every charge of the mock is in the ledger; the cancelled call is in doubt
my $all = q1(q{SELECT count(*) FILTER (WHERE status = 'billed') || ' ' ||
	count(*) FILTER (WHERE status = 'in doubt') || ' ' || count(*) FROM juhe_ledger});
is($all, '53 1 54', 'the ledger has all 53 billed answers of this test and the cancelled request in doubt');

done_testing();
