# test/t/JuheidTest.pm -- shared by the TAP tests (test/t/*.pl), which
# test/tap.sh runs with PostgreSQL's TAP framework (PostgreSQL::Test::Cluster)
# as the postgres user, from a private copy of the files they need.
#
# Starts the bundled mock service (127.0.0.1 only; stopped by PID at exit)
# and a cluster with juheid preloaded and pointed at it, with the
# test-only resolver shim (preload/hang_dns.c) in LD_PRELOAD.
package JuheidTest;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use File::Basename qw(dirname);
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(start_mock mock_stats mock_reset juheid_node juheid_conf juheid_start signup_trigger elapsed_since
  mock_url hang_dns_url blackhole_url start_call mock_json ledger_gen peak_rss_kb
  ledger_append_billed ledger_write_record);

our $KEY = 'testkey0123456789abcdef0123456789';
our $OPENID = 'JHtestOpenId0001';
my $HERE = dirname(__FILE__);
my ($mock_pid, $mock_port, $blackhole_port);

# start the mock once per test file (slow_seconds: how long its slow magic
# IDs wait, 30 unless given)
sub start_mock
{
	my (%opts) = @_;
	my $slow = $opts{slow_seconds} // 30;
	my $dir = PostgreSQL::Test::Utils::tempdir_short();
	$mock_pid = fork();
	die "fork: $!" unless defined $mock_pid;
	if ($mock_pid == 0)
	{
		open(STDOUT, '>', "$dir/mock.log");
		open(STDERR, '>&', \*STDOUT);
		exec('/usr/bin/python3', "$HERE/../../mock/mock_juhe.py", '--port', '0',
			'--port-file', "$dir/mock.port", '--blackhole-port-file',
			"$dir/mock.blackhole", '--key', $KEY, '--openid', $OPENID,
			'--slow-seconds', $slow, '--quiet')
		  or die "exec: $!";
	}
	for (1 .. 100)
	{
		last if -s "$dir/mock.port";
		usleep(100_000);
	}
	die "the mock did not start" unless -s "$dir/mock.port";
	$mock_port = PostgreSQL::Test::Utils::slurp_file("$dir/mock.port");
	chomp $mock_port;
	$blackhole_port = PostgreSQL::Test::Utils::slurp_file("$dir/mock.blackhole");
	chomp $blackhole_port;
	return $mock_port;
}

END
{
	if ($mock_pid)
	{
		kill 'TERM', $mock_pid;
		waitpid($mock_pid, 0);
	}
}

sub mock_url { return "http://127.0.0.1:$mock_port"; }
sub hang_dns_url { return "http://hang.juheid.test:$mock_port"; }
sub blackhole_url { return "http://127.0.0.1:$blackhole_port"; }

# the mock's /_stats as text (JSON)
sub mock_json
{
	return `curl -s --noproxy '*' http://127.0.0.1:$mock_port/_stats`;
}

# the mock's counters, as a hash (requests, billed, connections)
sub mock_stats
{
	my $json = `curl -s --noproxy '*' http://127.0.0.1:$mock_port/_stats`;
	my %s;
	$s{$1} = $2 while $json =~ /"(requests|billed|connections|max_concurrent)":(\d+)/g;
	$s{arrivals} = [ split /,\s*/, $1 ] if $json =~ /"arrivals":\s*\[([^\]]*)\]/;
	return \%s;
}

sub mock_reset
{
	system("curl -s --noproxy '*' -o /dev/null -X POST http://127.0.0.1:$mock_port/_reset");
}

# a started cluster with juheid preloaded, juheid installed in "postgres"
sub juheid_node
{
	my ($name, $extra_conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', juheid_conf() . ($extra_conf // ''));
	juheid_start($node);
	$node->safe_psql('postgres', 'CREATE EXTENSION juheid');
	return $node;
}

# the signup trigger on a table users(realname, idcard, verification
# juhe_result, verified_orderid, verified_at), with the default reactions
# (reject a mismatch, a service error, a failure)
sub signup_trigger
{
	return q{
CREATE TRIGGER users_verify BEFORE INSERT OR UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION
  juhe_verify_trigger('realname', 'idcard', 'result=verification',
                      'orderid=verified_orderid', 'verified_at=verified_at');
};
}

# start a node with the resolver shim: hang.juheid.test never resolves (a
# test may add shims of its own through LD_PRELOAD)
sub juheid_start
{
	my ($node) = @_;
	local $ENV{LD_PRELOAD} = $ENV{LD_PRELOAD} // $ENV{JUHEID_HANG_DNS_SO}
	  if $ENV{LD_PRELOAD} || $ENV{JUHEID_HANG_DNS_SO};
	$node->start;
	return;
}

# the postgresql.conf lines of a node with juheid preloaded and pointed at
# the mock
sub juheid_conf
{
	my $pubkey = PostgreSQL::Test::Utils::slurp_file("$HERE/../../mock/keys/test_rsa_public.b64");
	$pubkey =~ s/\s+//g;
	return qq{
shared_preload_libraries = 'juheid'
juhe.base_url = '@{[ mock_url() ]}'
juhe.key = '$KEY'
juhe.openid = '$OPENID'
juhe.rsa_public_key = '$pubkey'
juhe.retries = 0
juhe.timeout_ms = 3000
juhe.connect_timeout_ms = 1000
log_line_prefix = '%m [%p] '
log_statement = none
juhe.gateway = @{[ $ENV{JUHEID_GATEWAY} // 'on' ]}
};
}

# run $sql through psql in the background as application $app; returns the
# IPC::Run handle and references to its stdout and stderr
sub start_call
{
	my ($node, $app, $sql) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGAPPNAME} = $app;
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c', $sql ],
		'>', \$out, '2>', \$err);
	return ($h, \$out, \$err);
}

# append records to a ledger file with test/tools/ledger_gen (see there)
sub ledger_gen
{
	my (@args) = @_;
	system($ENV{JUHEID_LEDGER_GEN}, @args) == 0 or die "ledger_gen @args failed";
	return;
}

# a billed result record, $days old, appended to the ledger file: the
# 384-byte record ("JHL2"), CRC-32C (Castagnoli) computed here,
# independently of the server's code; res 1 unless given, the person's
# digest (32 bytes) if given, no LSN (as from a server before 1.2)
sub ledger_append_billed
{
	my ($path, $orderid, $days, %o) = @_;
	my $at = int((time() - 946684800 - $days * 86400) * 1_000_000);
	my $body = pack('V C C C c l< Q< q< q< Q< V V l< l< a64 a64 a128 a32 a32',
		0x4A484C32, 2, 1, 0, $o{res} // 1, 0, $o{id} // (900_000_000 + $days), $at, $at, 0,
		0, 0, 0, 0, 'postgres', 'postgres', $orderid, $o{digest} // '', '');
	ledger_write_record($path, $body);
	return;
}

# a record's body (all but the CRC) appended with its CRC-32C
sub ledger_write_record
{
	my ($path, $body) = @_;
	my $crc = 0xFFFFFFFF;
	for my $byte (unpack('C*', $body))
	{
		$crc ^= $byte;
		$crc = ($crc & 1) ? (($crc >> 1) ^ 0x82F63B78) : ($crc >> 1) for 1 .. 8;
	}
	$crc ^= 0xFFFFFFFF;
	open(my $fh, '>>', $path) or die "open $path: $!";
	binmode $fh;
	print $fh pack('V', $crc) . $body;
	close $fh;
	return;
}

# the peak resident memory (VmHWM, kB) of a process so far
sub peak_rss_kb
{
	my ($pid) = @_;
	my $status = PostgreSQL::Test::Utils::slurp_file("/proc/$pid/status");
	return $status =~ /VmHWM:\s+(\d+)/ ? $1 : -1;
}

sub elapsed_since
{
	my ($t0) = @_;
	return Time::HiRes::time() - $t0;
}

1;
