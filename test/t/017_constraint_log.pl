# A signup that the trigger verified (billed) and that PostgreSQL then
# rejects itself -- a NOT NULL or a UNIQUE violation -- carries the row
# into the error: "Failing row contains (..., 李四, 440304198808081238, ...)"
# and "Key (idcard)=(...) already exists" in the DETAIL, and the statement
# with its literals in the STATEMENT line.  juheid's own messages never
# do (the trigger's guard hides the statement), but these are raised after
# the trigger has returned.
#
# What a juheid user can do, as the README recommends: for the roles that
# write personal data,
#     ALTER ROLE app SET log_error_verbosity = terse;      -- no DETAIL in the log
#     ALTER ROLE app SET log_min_error_statement = panic;  -- no STATEMENT line
# (both superuser-only settings, so the role cannot undo them).  The client
# still gets the whole error, detail included; the server log keeps the
# message and the SQLSTATE, and no name or ID number.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use JuheidTest;

start_mock();
my $node = juheid_node('constraint_log', "log_error_verbosity = default\n");

$node->safe_psql('postgres', q{
CREATE ROLE app LOGIN;
CREATE TABLE users (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    realname text,
    idcard text UNIQUE,
    verification juhe_result,
    verified_orderid text,
    verified_at timestamptz
);
} . signup_trigger() . q{
GRANT SELECT, INSERT, UPDATE ON users TO app;
GRANT USAGE ON SEQUENCE users_id_seq TO app;
});

my @pii = ('440304198808081238', '李四', '11010519491231002X', '张三');

# run $sql as app, the way a driver that interpolates on the client
# (psycopg2) sends it: literals in the statement text.  Returns stderr and
# what the server log gained meanwhile.
sub signup
{
	my ($sql) = @_;
	my $offset = -s $node->logfile;
	my ($stdout, $stderr) = ('', '');
	$node->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr,
		extra_params => [ '-U', 'app', '-v', 'VERBOSITY=default' ]);
	# the log line is written before the error reaches the client, but let
	# the logging collector (if any) catch up
	usleep(200_000);
	my $log = slurp_file($node->logfile, $offset);
	return ($stderr, $log);
}

sub pii_in
{
	my ($text) = @_;
	return join(', ', grep { index($text, $_) >= 0 } @pii);
}

my $billed0 = mock_stats()->{billed};

# today's behaviour without the settings: the log has the person (this is
# what the recommendation is for)
my ($err, $log) = signup(q{INSERT INTO users (email, realname, idcard)
                           VALUES (NULL, '李四', '440304198808081238')});
like($err, qr/null value in column "email"/, 'without the settings: the NOT NULL violation reaches the client');
like($log, qr/null value in column "email"/, '... and the log');
isnt(pii_in($log), '', '... and the log has the name or ID number (detail, statement)');
is(mock_stats()->{billed}, $billed0 + 1, '... after a billed verification');

# the recommended settings, for the role that writes personal data
$node->safe_psql('postgres', q{
ALTER ROLE app SET log_error_verbosity = terse;
ALTER ROLE app SET log_min_error_statement = panic;
});

# NOT NULL after a billed verification
$billed0 = mock_stats()->{billed};
($err, $log) = signup(q{INSERT INTO users (email, realname, idcard)
                        VALUES (NULL, '李四', '440304198808081238')});
is(mock_stats()->{billed}, $billed0 + 1, 'NOT NULL: the signup was verified (billed) first');
like($err, qr/null value in column "email".*\n.*DETAIL:\s+Failing row contains/,
	'NOT NULL: the client still gets the error with its detail');
like($log, qr/ERROR:\s+null value in column "email"/, 'NOT NULL: the log has the error');
is(pii_in($log), '', 'NOT NULL: no name or ID number in the log');
unlike($log, qr/STATEMENT:|DETAIL:/, 'NOT NULL: no statement, no detail in the log');

# UNIQUE on the ID number: the same person signs up twice
my ($ok_err) = signup(q{INSERT INTO users (email, realname, idcard)
                        VALUES ('a@example.com', '李四', '440304198808081238')});
is($ok_err, '', 'a first signup goes in');
$billed0 = mock_stats()->{billed};
($err, $log) = signup(q{INSERT INTO users (email, realname, idcard)
                        VALUES ('b@example.com', '李四', '440304198808081238')});
is(mock_stats()->{billed}, $billed0 + 1, 'UNIQUE (idcard): the signup was verified (billed) first');
like($err, qr/duplicate key value violates unique constraint "users_idcard_key"/,
	'UNIQUE (idcard): the client gets the violation');
like($err, qr/Key \(idcard\)=/, '... with its detail');
like($log, qr/ERROR:\s+duplicate key value violates unique constraint "users_idcard_key"/,
	'UNIQUE (idcard): the log has the error');
is(pii_in($log), '', 'UNIQUE (idcard): no name or ID number in the log');

# UNIQUE on another column (the e-mail): a different person
$billed0 = mock_stats()->{billed};
($err, $log) = signup(q{INSERT INTO users (email, realname, idcard)
                        VALUES ('a@example.com', '张三', '11010519491231002X')});
is(mock_stats()->{billed}, $billed0 + 1, 'UNIQUE (email): verified (billed) first');
like($err, qr/duplicate key value violates unique constraint "users_email_key"/,
	'UNIQUE (email): the client gets the violation');
is(pii_in($log), '', 'UNIQUE (email): no name or ID number in the log');

# the role cannot undo it (superuser-only settings)
($err) = signup(q{SET log_min_error_statement = error});
like($err, qr/permission denied to set parameter "log_min_error_statement"/,
	'the role cannot change log_min_error_statement back');
($err) = signup(q{SET log_error_verbosity = verbose});
like($err, qr/permission denied to set parameter "log_error_verbosity"/,
	'... nor log_error_verbosity');

# the billed answers of the rolled-back signups are in the ledger
my $ledger = $node->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE outcome = 'aborted') || ' of ' || count(*)
	    FROM juhe_ledger WHERE status = 'billed'});
is($ledger, '4 of 5', 'every billed answer is in the ledger, the 4 of rolled-back signups too');

$node->stop;
done_testing();
