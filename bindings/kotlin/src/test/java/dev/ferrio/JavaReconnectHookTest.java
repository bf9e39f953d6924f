package dev.ferrio;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;

/** The reconnection hook as Java code sets it: a lambda in the options builder. */
class JavaReconnectHookTest {
    @Test
    void beforeReconnectGivesTheServerAFreshToken() throws Exception {
        try (TestServer server = new TestServer(Map.of())) {
            LinkedBlockingQueue<Integer> attempts = new LinkedBlockingQueue<>();
            ClientOptions options = ClientOptions.builder()
                .transports(Transport.WEBSOCKET)
                .reconnectionDelay(Duration.ofMillis(50))
                .reconnectionDelayMax(Duration.ofMillis(200))
                .auth(Map.of("token", "secret"))
                .beforeReconnect(attempt -> {
                    attempts.add(attempt);
                    return new ReconnectUpdate().withAuth(Map.of("token", "fresh"));
                })
                .build();
            try (Client client = new Client(server.getUrl() + "/auth", options)) {
                LinkedBlockingQueue<List<Object>> welcomes = new LinkedBlockingQueue<>();
                client.on("welcome", (args, ack) -> welcomes.add(args));
                client.connectAsync().get(30, SECONDS);
                assertEquals(List.of("secret"), welcomes.poll(30, SECONDS));
                server.control("setToken", Map.of("token", "fresh"));
                server.control("restart", Map.of("delayMs", 200));
                assertEquals(List.of("fresh"), welcomes.poll(30, SECONDS));
                assertEquals(1, attempts.poll(30, SECONDS));
            }
        }
    }
}
