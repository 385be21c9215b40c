// juheid from pgJDBC with HikariCP (Debian libpostgresql-jdbc-java, libhikaricp-java).
//
// Connects to PGHOST:PGPORT/PGDATABASE over TCP as shop_app, an ordinary
// role, in a database set up by examples/clients/schema.sql.  Prints only
// masked ID numbers, result fields and SQLSTATEs.
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import org.postgresql.util.PSQLException;

public class Signup {
    static final Set<String> RETRY_LATER = Set.of("JH010");        // nothing was sent, nothing billed
    static final Set<String> RECONCILE = Set.of("JH011", "JH013"); // sent: may have been (JH013: was) billed
    static final String[] FAILING = {"110101200001012091", "110101200001012024"}; // JH011, JH012
    static final PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

    /** the extension's composite type juhe_result */
    record JuheResult(Integer res, String orderid, int errorCode, String reason) {}

    static HikariDataSource pool(String user, int size) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:postgresql://" + env("PGHOST", "localhost") + ":" + env("PGPORT", "5432")
                + "/" + env("PGDATABASE", "shop"));
        config.setUsername(user);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(size);
        return new HikariDataSource(config);
    }

    static String env(String name, String otherwise) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? otherwise : v;
    }

    static String mask(String idcard) {
        return idcard.substring(0, 4) + "*".repeat(idcard.length() - 8) + idcard.substring(idcard.length() - 4);
    }

    static String present(Object value) {
        return value != null ? "present" : "absent";
    }

    static JuheResult verify(Connection conn, String name, String idcard) throws SQLException {
        // bind parameters: no name or ID in the SQL text
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT res, orderid, error_code, reason FROM juhe_verify(?, ?)")) {
            ps.setString(1, name);
            ps.setString(2, idcard);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new JuheResult(rs.getObject("res", Integer.class), rs.getString("orderid"),
                        rs.getInt("error_code"), rs.getString("reason"));
            }
        }
    }

    /** TRUE: the account exists; FALSE: refused; null: nothing was sent, try again later */
    static Boolean signup(HikariDataSource pool, String email, String name, String idcard) throws SQLException {
        try (Connection conn = pool.getConnection();
             PreparedStatement ps = conn.prepareStatement(
                     "INSERT INTO users (email, realname, idcard) VALUES (?, ?, ?)"
                     + " RETURNING (verification).res, verified_orderid, verified_at")) {
            ps.setString(1, email);
            ps.setString(2, name);
            ps.setString(3, idcard);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                out.println(mask(idcard) + ": account created, res=" + rs.getInt("res")
                        + ", orderid " + present(rs.getString("verified_orderid"))
                        + ", verified_at " + (rs.getTimestamp("verified_at") != null ? "set" : "missing"));
                return true;
            }
        } catch (SQLException e) {
            String state = e.getSQLState();
            if (state.equals("JH001")) {
                out.println(mask(idcard) + ": " + state + " identity does not match: ask the user to check the name");
            } else if (Set.of("JH002", "JH003", "JH004").contains(state)) {
                out.println(mask(idcard) + ": " + state + " not verified: " + primary(e));
            } else if (RETRY_LATER.contains(state)) {
                out.println(mask(idcard) + ": " + state + " nothing was sent: retry later");
                return null;
            } else if (RECONCILE.contains(state)) {
                out.println(mask(idcard) + ": " + state + " may have been billed: look it up before verifying again (not retried)");
            } else if (state.equals("JH012")) {
                out.println(mask(idcard) + ": " + state + " unusable answer: not retried (" + primary(e) + ")");
            } else {
                throw e;
            }
            return false;
        }
    }

    /** the server's message without its detail (the detail names the person, masked) */
    static String primary(SQLException e) {
        return e instanceof PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getMessage() : e.getMessage();
    }

    static int backendPid(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    static Set<Integer> pids(HikariDataSource pool) throws SQLException {
        try (Connection a = pool.getConnection(); Connection b = pool.getConnection()) {
            return Set.of(backendPid(a), backendPid(b));
        }
    }

    public static void main(String[] args) throws SQLException {
        try (HikariDataSource pool = pool("shop_app", 2);
             HikariDataSource offline = pool("shop_app_offline", 1)) {
            out.println("== typed result of juhe_verify");
            try (Connection conn = pool.getConnection()) {
                for (String[] p : List.of(new String[] {"张三", "11010519491231002X"},    // a match
                                          new String[] {"李五", "440304198808081238"},    // a mismatch
                                          new String[] {"王五", "110101200001010010"})) { // no record (210301)
                    JuheResult r = verify(conn, p[0], p[1]);
                    out.println(mask(p[1]) + ": res=" + (r.res() == null ? "NULL" : r.res())
                            + " error_code=" + r.errorCode() + " reason=" + r.reason()
                            + " orderid " + present(r.orderid()));
                }
            }

            out.println("== signup with the trigger");
            signup(pool, "a@example.com", "张三", "11010519491231002X");
            signup(pool, "b@example.com", "李五", "440304198808081238");

            out.println("== provider failures");
            // shop_app_offline: the same application while the provider is unreachable
            if (signup(offline, "c@example.com", "李四", "440304198808081238") == null) {
                out.println("retrying once the provider is reachable");
                signup(pool, "c@example.com", "李四", "440304198808081238");
            }
            signup(pool, "d@example.com", "孙七", "110101200001012163"); // billed, then the connection drops
            signup(pool, "e@example.com", "周八", "110101200001012024"); // HTTP 502
            try (Connection conn = pool.getConnection(); Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM users")) {
                rs.next();
                out.println("accounts: " + rs.getInt(1));
            }

            out.println("== the pool keeps its connections");
            // HikariCP throws a connection away on SQLSTATE class 08; juheid never uses it
            Set<Integer> before = pids(pool);
            int failures = 0;
            for (int i = 0; i < 10; i++) { // 20 failing calls, 10 on each connection
                try (Connection a = pool.getConnection(); Connection b = pool.getConnection()) {
                    Connection[] conns = {a, b};
                    for (int k = 0; k < 2; k++) {
                        try {
                            verify(conns[k], "测试", FAILING[k]);
                        } catch (SQLException e) {
                            if (Set.of("JH011", "JH012").contains(e.getSQLState()))
                                failures++;
                        }
                    }
                }
            }
            Set<Integer> after = pids(pool);
            out.println(before.equals(after) && after.size() == 2
                    ? "same 2 connections after " + failures + " failures"
                    : "connections changed after " + failures + " failures");
        }
    }
}
