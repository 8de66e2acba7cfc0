package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Which servers the JDBC tests run on: a server property set but empty fails, never skips. */
@RunWith(JUnit4.class)
public class TestDatabasesTest {
  private String postgresql;
  private String mariadb;

  @Before
  public void saveProperties() {
    postgresql = System.getProperty(TestDatabases.POSTGRESQL_PROPERTY);
    mariadb = System.getProperty(TestDatabases.MARIADB_PROPERTY);
  }

  @After
  public void restoreProperties() {
    restore(TestDatabases.POSTGRESQL_PROPERTY, postgresql);
    restore(TestDatabases.MARIADB_PROPERTY, mariadb);
  }

  private static void restore(String property, String value) {
    if (value == null) {
      System.clearProperty(property);
    } else {
      System.setProperty(property, value);
    }
  }

  @Test
  public void aServerPropertySetButEmptyFailsInsteadOfSkippingTheServer() {
    System.setProperty(TestDatabases.POSTGRESQL_PROPERTY, "");
    System.clearProperty(TestDatabases.MARIADB_PROPERTY);

    IllegalStateException e = assertThrows(IllegalStateException.class, TestDatabases::configured);

    assertThat(e.getMessage(), containsString("-D" + TestDatabases.POSTGRESQL_PROPERTY));
    assertThat(e.getMessage(), containsString("set but empty"));
  }

  @Test
  public void aBlankServerPropertyFailsToo() {
    System.clearProperty(TestDatabases.POSTGRESQL_PROPERTY);
    System.setProperty(TestDatabases.MARIADB_PROPERTY, "  ");

    assertThrows(IllegalStateException.class, TestDatabases::configured);
  }

  @Test
  public void anAbsentServerPropertySkipsOnlyThatServer() {
    System.clearProperty(TestDatabases.POSTGRESQL_PROPERTY);
    System.setProperty(TestDatabases.MARIADB_PROPERTY, "jdbc:mariadb://127.0.0.1:3306/test");

    List<Object[]> databases = TestDatabases.configured();

    assertEquals(2, databases.size());
    assertEquals("h2", databases.get(0)[0]);
    assertEquals("mariadb", databases.get(1)[0]);
  }
}
