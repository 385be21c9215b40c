# The upgrade path.  Every older released version (the versions the kept
# scripts in test/released name; the server offers exactly these) is
# installed with CREATE EXTENSION ... VERSION, used - a table with the
# juhe_idcard domain, juhe_result columns and columns the signup trigger
# owns (juhe_result, integer and jsonb results), rows verified through the
# mock - and then brought to the default version with ALTER EXTENSION
# juheid UPDATE: the update sends nothing and changes no row, the domain
# and the trigger still work, the new version's objects work, and every
# object the extension owns is described exactly as after a fresh install
# (definitions, privileges, initial privileges, comments).  Also in a
# database in EUC_CN.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use File::Compare qw(compare);
use PostgreSQL::Test::Utils;
use Test::More;
use JuheidTest;

# the released scripts: juheid--V.sql installs V, juheid--A--B.sql updates
# A to B (a version never contains "--")
my $released = "$FindBin::RealBin/../released";
my @kept = map { s{.*/}{}r } glob("$released/juheid--*.sql");
die "no released scripts in $released" unless @kept;
my %named;
for my $f (@kept)
{
	my @v = split /--/, ($f =~ s/\.sql$//r);
	shift @v;
	$named{$_} = 1 for @v;
}

sub vcmp
{
	my @a = split /\./, $_[0];
	my @b = split /\./, $_[1];
	while (@a || @b)
	{
		my ($x, $y) = (shift(@a) // -1, shift(@b) // -1);
		my $c = ($x =~ /^\d+$/ && $y =~ /^\d+$/) ? $x <=> $y : $x cmp $y;
		return $c if $c;
	}
	return 0;
}

# one listing of what the extension owns: for every object (pg_depend
# deptype 'e') its pg_describe_object, owner and ACL (proacl, relacl,
# typacl, nspacl, lanacl, fdwacl, srvacl; attacl per column), initial
# privileges (pg_init_privs, what pg_dump treats as the extension's),
# comments (pg_description with objsubid: the object's, its columns', a
# composite type's attributes'), and its definition: pg_get_functiondef
# (arguments and defaults, result, language, volatility, strictness,
# security, parallel safety, cost, SET options), relkind, options and
# pg_get_viewdef, a domain's base type, NOT NULL, default, collation and
# constraints (pg_get_constraintdef), the columns of views, tables and
# composite types, a table's indexes and triggers; and the extension's own
# row (version, schema, extconfig, extcondition) and comment.  Sorted, one
# line per fact, each line naming its object.
my $objects = <<'SQL';
WITH ext AS (
  SELECT e.oid, e.extname, e.extversion, e.extrelocatable, e.extnamespace,
         e.extconfig, e.extcondition
    FROM pg_extension e WHERE e.extname = 'juheid'
), obj AS (
  -- every object the extension owns, and the relation behind it (a table's
  -- or view's own, a composite type's typrelid)
  SELECT d.classid, d.objid, d.objsubid,
         pg_describe_object(d.classid, d.objid, d.objsubid) AS name,
         CASE WHEN d.classid = 'pg_class'::regclass THEN d.objid
              WHEN d.classid = 'pg_type'::regclass
              THEN (SELECT c.oid FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid
                     WHERE t.oid = d.objid AND c.relkind = 'c') END AS relid
    FROM pg_depend d JOIN ext ON d.refobjid = ext.oid
   WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
), lines(name, kind, n, line) AS (
  SELECT 'extension ' || extname, 'extension', 0,
         format('version %s relocatable %s schema %s extconfig %s extcondition %s',
                extversion, extrelocatable, extnamespace::regnamespace,
                coalesce(extconfig::regclass[]::text, '-'), coalesce(extcondition::text, '-'))
    FROM ext
  UNION ALL
  SELECT 'extension ' || extname, 'comment', 0, d.description
    FROM ext JOIN pg_description d
      ON d.classoid = 'pg_extension'::regclass AND d.objoid = ext.oid
  UNION ALL
  -- owner and privileges (NULL: the default)
  SELECT o.name, 'owner acl', 0,
         coalesce(a.owner::regrole || ' ' || coalesce(a.acl::text, 'default'), 'n/a')
    FROM obj o LEFT JOIN (
                   SELECT 'pg_proc'::regclass, oid, proowner, proacl FROM pg_proc
         UNION ALL SELECT 'pg_class'::regclass, oid, relowner, relacl FROM pg_class
         UNION ALL SELECT 'pg_type'::regclass, oid, typowner, typacl FROM pg_type
         UNION ALL SELECT 'pg_namespace'::regclass, oid, nspowner, nspacl FROM pg_namespace
         UNION ALL SELECT 'pg_language'::regclass, oid, lanowner, lanacl FROM pg_language
         UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, oid, fdwowner, fdwacl
                     FROM pg_foreign_data_wrapper
         UNION ALL SELECT 'pg_foreign_server'::regclass, oid, srvowner, srvacl FROM pg_foreign_server
         ) AS a(classid, objid, owner, acl) ON a.classid = o.classid AND a.objid = o.objid
  UNION ALL
  -- comments: the object's, its columns' (objsubid), a composite type's relation's
  SELECT o.name, 'comment', 0,
         pg_describe_object(d.classoid, d.objoid, d.objsubid)
           || ' (objsubid ' || d.objsubid || '): ' || d.description
    FROM obj o JOIN pg_description d
      ON (d.classoid = o.classid AND d.objoid = o.objid)
      OR (d.classoid = 'pg_class'::regclass AND d.objoid = o.relid
          AND o.classid <> 'pg_class'::regclass)
  UNION ALL
  -- the privileges pg_dump treats as the extension's own (pg_init_privs)
  SELECT o.name, 'init privs', 0,
         pg_describe_object(i.classoid, i.objoid, i.objsubid) || ' (objsubid ' || i.objsubid || ') '
           || i.privtype::text || ' ' || i.initprivs::text
    FROM obj o JOIN pg_init_privs i
      ON (i.classoid = o.classid AND i.objoid = o.objid)
      OR (i.classoid = 'pg_class'::regclass AND i.objoid = o.relid
          AND o.classid <> 'pg_class'::regclass)
  UNION ALL
  -- functions and procedures: the whole CREATE statement (arguments and
  -- defaults, result, language, volatility, strictness, security,
  -- parallel safety, cost, rows, SET options, body), one line each
  SELECT o.name, 'definition', l.n, l.line
    FROM obj o JOIN pg_proc p ON o.classid = 'pg_proc'::regclass AND p.oid = o.objid,
         regexp_split_to_table(
           CASE WHEN p.prokind = 'a'
                THEN (SELECT format('aggregate kind %s transfn %s finalfn %s combinefn %s'
                                    ' transtype %s initval %s sortop %s',
                                    a.aggkind, a.aggtransfn, a.aggfinalfn, a.aggcombinefn,
                                    format_type(a.aggtranstype, NULL), a.agginitval,
                                    a.aggsortop::regoperator)
                        FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                ELSE pg_get_functiondef(p.oid) END, E'\n') WITH ORDINALITY AS l(line, n)
  UNION ALL
  -- relations: kind, a view's query one line each
  SELECT o.name, 'definition', l.n, l.line
    FROM obj o JOIN pg_class c ON o.classid = 'pg_class'::regclass AND c.oid = o.objid,
         regexp_split_to_table('relkind ' || c.relkind::text
           || ' options ' || coalesce(c.reloptions::text, '-')
           || CASE WHEN c.relkind IN ('v', 'm') THEN E'\n' || pg_get_viewdef(c.oid) ELSE '' END, E'\n')
           WITH ORDINALITY AS l(line, n)
  UNION ALL
  -- types: a domain's base type, NOT NULL, default, collation; an enum's labels
  SELECT o.name, 'definition', 0,
         'typtype ' || t.typtype::text || CASE t.typtype
           WHEN 'd' THEN ' over ' || format_type(t.typbasetype, t.typtypmod)
                         || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END
                         || coalesce(' default ' || t.typdefault, '')
                         || coalesce(' collate ' || (SELECT k.collname FROM pg_collation k
                                                     WHERE k.oid = t.typcollation), '')
           WHEN 'e' THEN ' labels ' || (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
                                          FROM pg_enum e WHERE e.enumtypid = t.oid)
           WHEN 'b' THEN format(' input %s output %s receive %s send %s len %s byval %s align %s'
                                ' storage %s', t.typinput, t.typoutput, t.typreceive, t.typsend,
                                t.typlen, t.typbyval, t.typalign, t.typstorage)
           ELSE '' END
    FROM obj o JOIN pg_type t ON o.classid = 'pg_type'::regclass AND t.oid = o.objid
  UNION ALL
  -- constraints: a domain's CHECKs, a table's
  SELECT o.name, 'constraint', 0, k.conname || ': ' || pg_get_constraintdef(k.oid)
    FROM obj o JOIN pg_constraint k
      ON (o.classid = 'pg_type'::regclass AND k.contypid = o.objid) OR k.conrelid = o.relid
  UNION ALL
  -- columns of a view, a table or a composite type: name, type, collation,
  -- NOT NULL, default, column privileges (attacl), in column order
  SELECT o.name, 'column', a.attnum,
         a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || coalesce(' collate ' || (SELECT k.collname FROM pg_collation k
                                      WHERE k.oid = a.attcollation), '')
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || coalesce(' default ' || (SELECT pg_get_expr(ad.adbin, ad.adrelid) FROM pg_attrdef ad
                                      WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum), '')
         || ' acl ' || coalesce(a.attacl::text, 'default')
    FROM obj o JOIN pg_attribute a ON a.attrelid = o.relid AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  -- a table's indexes and triggers
  SELECT o.name, 'index', 0, pg_get_indexdef(i.indexrelid)
    FROM obj o JOIN pg_index i ON i.indrelid = o.relid
  UNION ALL
  SELECT o.name, 'trigger', 0, pg_get_triggerdef(g.oid)
    FROM obj o JOIN pg_trigger g ON g.tgrelid = o.relid AND NOT g.tgisinternal
)
SELECT string_agg(name || ' | ' || kind || ': ' || line, E'\n'
                  ORDER BY name COLLATE "C", kind COLLATE "C", n, line COLLATE "C")
  FROM lines
SQL

# is(), and on a difference the lines found on one side only
sub same_listing
{
	my ($got, $want, $name) = @_;
	my $ok = is($got, $want, $name);
	if (!$ok)
	{
		my (%g, %w);
		$g{$_}++ for split /\n/, $got;
		$w{$_}++ for split /\n/, $want;
		diag("only after the update:    $_") for grep { $g{$_} > ($w{$_} // 0) } sort keys %g;
		diag("only in a fresh install: $_") for grep { $w{$_} > ($g{$_} // 0) } sort keys %w;
	}
	return $ok;
}

start_mock();
my $node = juheid_node('upgrade');
sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $defv = q1(q{SELECT default_version FROM pg_available_extensions WHERE name = 'juheid'});
my @older = sort { vcmp($a, $b) } split /\n/,
  q1(qq{SELECT version FROM pg_available_extension_versions
         WHERE name = 'juheid' AND version <> '$defv'});
my @released_older = sort { vcmp($a, $b) } grep { $_ ne $defv } keys %named;
ok(@older > 0, "older versions than $defv: @older");
is("@older", "@released_older",
	'the server offers exactly the older versions the released scripts name');
ok($named{$defv}, "a released script reaches $defv");

# what is installed is what was released
my $sharedir = q1(q{SELECT setting FROM pg_config WHERE name = 'SHAREDIR'});
for my $f (@kept)
{
	is(compare("$sharedir/extension/$f", "$released/$f"), 0, "installed $f is the released one");
}

# the fresh install of the default version everything is compared with
q1('CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION juheid');
my $fresh = $node->safe_psql('fresh', $objects);
like($fresh, qr/^extension juheid \| extension: version \Q$defv\E /m, "the fresh install is $defv");
like($fresh, qr/^function juhe_verify\(text,text,text\) \| owner acl: \w+ \{\w+=X\/\w+\}$/m,
	'the listing has privileges (juhe_verify: its owner only)');
like($fresh, qr/^type juhe_idcard \| constraint: \w+: CHECK /m, 'and domain constraints');
like($fresh, qr/^view juhe_ledger \| init privs: .*pg_read_all_stats=r\//m, 'and initial privileges');
like($fresh, qr/^type juhe_result \| comment: /m, 'and comments');

my $schema = q{
CREATE TABLE signups (id int PRIMARY KEY, realname text, idcard juhe_idcard,
                      verification juhe_result, verified_orderid text, verified_at timestamptz);
CREATE TRIGGER verify BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=verification',
                                       'orderid=verified_orderid', 'verified_at=verified_at',
                                       'on_mismatch=accept');
CREATE TABLE signups_int (id int PRIMARY KEY, realname text, idcard juhe_idcard,
                          res integer, verified_at timestamptz);
CREATE TRIGGER verify BEFORE INSERT OR UPDATE ON signups_int FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=res',
                                       'verified_at=verified_at', 'on_mismatch=accept');
CREATE TABLE signups_json (id int PRIMARY KEY, realname text, idcard varchar(18),
                           answer jsonb, verified_at timestamptz);
CREATE TRIGGER verify BEFORE INSERT OR UPDATE ON signups_json FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=answer',
                                       'verified_at=verified_at', 'on_mismatch=accept');
CREATE TABLE audit (id int, answer juhe_result, card juhe_idcard);
};
my $people = q{(1, '张三', '11010519491231002X'), (2, '李四', '440304198808081238'),
  (3, '王五', '440304198808081238')};
my $rows = q{
SELECT string_agg(r, E'\n' ORDER BY r COLLATE "C") FROM (
  SELECT 'signups ' || s::text FROM signups s UNION ALL
  SELECT 'signups_int ' || s::text FROM signups_int s UNION ALL
  SELECT 'signups_json ' || s::text FROM signups_json s UNION ALL
  SELECT 'audit ' || a::text FROM audit a) AS t(r)};

for my $v (@older)
{
	my $db = 'from_' . ($v =~ s/\W/_/gr);
	q1("CREATE DATABASE $db");
	my $sql = sub { return $node->safe_psql($db, $_[0]); };
	$sql->(qq{CREATE EXTENSION juheid VERSION '$v'});
	is($sql->(q{SELECT extversion FROM pg_extension WHERE extname = 'juheid'}), $v, "$v installed");
	isnt($sql->($objects), $fresh, "$v: its objects differ from a fresh $defv before the update");

	# a database in use: verified rows in the domain, the type and the
	# trigger's columns
	$sql->($schema);
	mock_reset();
	$sql->("INSERT INTO signups (id, realname, idcard) VALUES $people");
	$sql->("INSERT INTO signups_int (id, realname, idcard) VALUES $people");
	$sql->("INSERT INTO signups_json (id, realname, idcard) VALUES $people");
	$sql->(q{INSERT INTO audit SELECT id, verification, idcard FROM signups});
	my $sent = mock_stats();
	is($sent->{requests}, 9, "$v: the triggers verified 9 rows (9 requests)");
	is($sql->(q{SELECT string_agg(id || ':' || (verification).res || ':' || (verification).error_code
		|| ':' || ((verification).orderid = verified_orderid) || ':' || (verified_at IS NOT NULL), ','
		ORDER BY id) FROM signups}), '1:1:0:true:true,2:1:0:true:true,3:2:0:true:true',
		"$v: juhe_result rows: two matches, one mismatch accepted, order ids and times");
	is($sql->(q{SELECT string_agg(id || ':' || res, ',' ORDER BY id) FROM signups_int}), '1:1,2:1,3:2',
		"$v: integer results");
	is($sql->(q{SELECT string_agg(id || ':' || (answer->>'res') || ':' || (answer->>'orderid' ~ '^J\d+$'),
		',' ORDER BY id) FROM signups_json}), '1:1:true,2:1:true,3:2:true', "$v: jsonb results");
	my $before = $sql->($rows);

	# the update
	mock_reset();
	$sql->('ALTER EXTENSION juheid UPDATE');
	is($sql->(q{SELECT extversion FROM pg_extension WHERE extname = 'juheid'}), $defv,
		"$v updated to $defv");
	is(mock_stats()->{requests}, 0, "$v: the update sent no request");
	is($sql->($rows), $before, "$v: every row is as it was");

	# the domain, the type and the trigger's columns still work
	my ($ret, $out, $err) = $node->psql($db,
		q{INSERT INTO signups (id, realname, idcard) VALUES (90, '张三', '11010519491231002Y')});
	like($err, qr/violates check constraint "juhe_idcard_check"/, "$v: the domain still rejects a bad ID");
	$sql->(q{UPDATE signups SET verification = '(1,J-FAKE,0,x)', verified_orderid = 'J-FAKE' WHERE id = 3});
	is($sql->($rows), $before, "$v: the trigger still owns its columns (a forged result is replaced)");
	is(mock_stats()->{requests}, 0, "$v: nothing sent for them");
	for my $t ('signups', 'signups_int', 'signups_json')
	{
		mock_reset();
		$sql->("INSERT INTO $t (id, realname, idcard) VALUES (10, '张三', '11010519491231002X')");
		is(mock_stats()->{requests}, 1, "$v: the trigger on $t verifies a new row (1 request)");
		$sent->{requests} += 1;
		$sent->{billed} += mock_stats()->{billed};
	}
	is($sql->(q{SELECT (verification).res || ':' || ((verification).orderid = verified_orderid)
		|| ':' || (verified_at IS NOT NULL) FROM signups WHERE id = 10}), '1:true:true',
		"$v: with its result, order id and time");
	is($sql->(q{SELECT res FROM signups_int WHERE id = 10}) . ':'
		  . $sql->(q{SELECT answer->>'res' FROM signups_json WHERE id = 10}), '1:1',
		"$v: in the integer and jsonb columns too");

	# the new version's objects work (as a superuser)
	is($sql->(qq{SELECT count(*) FROM juhe_ledger WHERE datname = '$db' AND status = 'billed'}),
		$sent->{billed}, "$v: juhe_ledger has every billed request of this database ($sent->{billed})");
	is($sql->(qq{SELECT sum(requests) FROM juhe_stats WHERE datname = '$db'}), $sent->{requests},
		"$v: juhe_stats counts every request ($sent->{requests})");
	is($sql->(q{SELECT count(*) FROM juhe_billing}), 1, "$v: juhe_billing answers");
	is($sql->(q{SELECT count(*) FROM juhe_progress}), 0, "$v: juhe_progress answers");
	mock_reset();
	is($sql->(q{SELECT string_agg(ord || ':' || res, ',' ORDER BY ord)
		FROM juhe_verify_many(ARRAY['李四'], ARRAY['440304198808081238'])}), '1:1',
		"$v: juhe_verify_many works");
	is(mock_stats()->{requests}, 1, "$v: with one request");

	# and what the extension owns is exactly what a fresh install has
	same_listing($sql->($objects), $fresh,
		"$v updated to $defv: the same objects, definitions, privileges and comments as a fresh $defv");

	# the scripts run in a database in EUC_CN as well
	my $euc = "${db}_euc_cn";
	q1("CREATE DATABASE $euc ENCODING 'EUC_CN' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
	$node->safe_psql($euc, qq{CREATE EXTENSION juheid VERSION '$v'});
	$node->safe_psql($euc, 'ALTER EXTENSION juheid UPDATE');
	same_listing($node->safe_psql($euc, $objects), $fresh,
		"$v updated to $defv in an EUC_CN database: the same as a fresh $defv");
}

$node->stop;
done_testing();
