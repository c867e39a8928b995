package shop;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import org.junit.Test;

/** A stable, a pass-on-retry and an always-failing test. */
public class CheckoutTest {
    @Test
    public void stable() {
        assertEquals(2, 1 + 1);
    }

    /** Fails while the marker file named by FLAKY_MARKER does not exist and creates it. */
    @Test
    public void passesOnRetry() throws IOException {
        boolean first = new File(System.getenv("FLAKY_MARKER")).createNewFile();
        assertTrue("first attempt fails", !first);
    }

    @Test
    public void alwaysFails() {
        assertEquals("this test always fails", "passing", "failing");
    }
}
