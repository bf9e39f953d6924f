package dev.ferrio;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;

/**
 * The package as Java code calls it, against the reference server: futures instead of
 * coroutines, lambdas as handlers, plain Map and List values, the options builder.
 */
class JavaApiTest {
    private final TestServer server = TestServer.Companion.getShared();

    /** Every future here completes from the server's answer; the bound only turns a hang into a failure. */
    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(30, SECONDS);
    }

    @Test
    void connectsEmitsAndReceivesThroughLambdas() throws Exception {
        try (Client client = new Client(server.getUrl())) {
            CompletableFuture<List<Object>> back = new CompletableFuture<>();
            client.on("message-back", (args, ack) -> back.complete(args));
            CompletableFuture<Void> connecting = client.connectAsync();
            await(connecting);
            assertTrue(client.getConnected());

            client.emit("message", Map.of("room", "lobby"), List.of("x", 2), 1.5, true, null);
            assertEquals(Arrays.asList(Map.of("room", "lobby"), List.of("x", 2L), 1.5, true, null), await(back));

            await(client.disconnectAsync());
            assertFalse(client.getConnected());
        }
    }

    @Test
    void emitWithAckAsyncCompletesWithTheAcknowledgement() throws Exception {
        try (Client client = new Client(server.getUrl())) {
            await(client.connectAsync());
            List<Object> reply = await(client.emitWithAckAsync("echo", "one", 2, Map.of("list", List.of(1, 2))));
            assertEquals(List.of("one", 2L, Map.of("list", List.of(1L, 2L))), reply);
            assertEquals(List.of(client.getId()), await(client.emitWithAckAsync("getId")));

            byte[] data = {1, 2, 3};
            List<Object> binary = await(client.emitWithAckAsync("echo", Map.of("data", data)));
            assertArrayEquals(data, (byte[]) ((Map<?, ?>) binary.get(0)).get("data"));
        }
    }

    @Test
    void catchAllAndRegistrationsAreLambdasAndCloseables() throws Exception {
        try (Client client = new Client(server.getUrl())) {
            LinkedBlockingQueue<String> seen = new LinkedBlockingQueue<>();
            LinkedBlockingQueue<List<Object>> hi = new LinkedBlockingQueue<>();
            Registration any = client.onAny((event, args, ack) -> seen.add(event + " " + args));
            Registration first = client.on("message-back", (args, ack) -> hi.add(args));
            await(client.connectAsync());
            client.emit("message", "one");
            assertEquals("message-back [one]", seen.poll(30, SECONDS));
            assertEquals(List.of("one"), hi.poll(30, SECONDS));

            first.close();
            any.close();
            client.on("message-back", (args, ack) -> hi.add(args));
            client.emit("message", "two");
            assertEquals(List.of("two"), hi.poll(30, SECONDS));
            assertTrue(seen.isEmpty());
        }
    }

    @Test
    void emitWithAckAsyncFailsWithTheTimeout() throws Exception {
        try (Client client = new Client(server.getUrl())) {
            await(client.connectAsync());
            CompletableFuture<List<Object>> reply = client.emitWithAckAsync("hi", Duration.ofMillis(200));
            ExecutionException error = assertThrows(ExecutionException.class, () -> await(reply));
            assertInstanceOf(dev.ferrio.TimeoutException.class, error.getCause());
        }
    }

    @Test
    void aLambdaAnswersTheServersAckRequest() throws Exception {
        try (Client client = new Client(server.getUrl())) {
            LinkedBlockingQueue<List<Object>> answers = new LinkedBlockingQueue<>();
            client.on("answer", (args, ack) -> answers.add(args));
            client.on("question", (args, ack) -> ack.send((Long) args.get(0) * 2, "doubled"));
            await(client.connectAsync());
            client.emit("askMe", 21);
            assertEquals(List.of(42L, "doubled"), answers.poll(30, SECONDS));
        }
    }

    @Test
    void authIsAMapInTheOptionsBuilder() throws Exception {
        ClientOptions options = ClientOptions.builder()
                .transports(Transport.WEBSOCKET)
                .reconnectionDelay(Duration.ofMillis(100))
                .ackTimeout(Duration.ofSeconds(20))
                .proxyFromEnvironment(false)
                .auth(Map.of("token", "secret", "scopes", List.of("read", "write")))
                .build();
        try (Client client = new Client(server.getUrl() + "/auth", options)) {
            CompletableFuture<List<Object>> welcome = new CompletableFuture<>();
            client.once("welcome", (args, ack) -> welcome.complete(args));
            await(client.connectAsync());
            assertEquals(List.of("secret"), await(welcome));
            Map<?, ?> handshake = (Map<?, ?>) await(client.emitWithAckAsync("getHandshake")).get(0);
            assertEquals(Map.of("token", "secret", "scopes", List.of("read", "write")), handshake.get("auth"));
            assertEquals(Transport.WEBSOCKET, client.getManager().getTransport());
            assertEquals(List.of(Transport.WEBSOCKET), options.getTransports());
            assertFalse(options.getProxyFromEnvironment());
        }
    }

    @Test
    void roomsVolatileEmitsAndTheOutgoingCatchAllFromJava() throws Exception {
        ClientOptions built = ClientOptions.builder().retries(2).roomEvents("enter", "exit").build();
        assertEquals(2, built.getRetries());
        assertEquals("enter", built.getRoomJoinEvent());
        assertEquals("exit", built.getRoomLeaveEvent());
        // WebSocket only: a volatile emit made during the upgrade from polling could be dropped.
        ClientOptions options = ClientOptions.builder().transports(Transport.WEBSOCKET).build();
        try (Client client = new Client(server.getUrl(), options)) {
            LinkedBlockingQueue<String> out = new LinkedBlockingQueue<>();
            Registration outgoing = client.onAnyOutgoing((event, args) -> out.add(event + " " + args));
            CompletableFuture<List<Object>> roomMessage = new CompletableFuture<>();
            client.on("room-message", (args, ack) -> roomMessage.complete(args));
            await(client.connectAsync());
            await(client.joinRoomAsync("java-room"));
            client.emitVolatile("toRoom", "java-room", "hello");
            assertEquals(List.of("hello"), await(roomMessage));
            assertEquals("toRoom [java-room, hello]", out.poll(30, SECONDS));
            await(client.leaveRoomAsync("java-room"));
            outgoing.close();
            client.offAnyOutgoing();
        }
    }

    @Test
    void aManagersSocketTakesItsAuthAsAMap() throws Exception {
        try (Manager manager = new Manager(server.getUrl())) {
            Socket refused = manager.socket("/auth", Map.of("token", "wrong"));
            ExecutionException error = assertThrows(ExecutionException.class, () -> await(refused.connectAsync()));
            ConnectException cause = assertInstanceOf(ConnectException.class, error.getCause());
            assertTrue(cause.getRefused());
            assertEquals("invalid token", cause.getMessage());

            Socket custom = manager.socket("/custom", Map.of("user", "ada", "id", 7));
            CompletableFuture<List<Object>> auth = new CompletableFuture<>();
            custom.on("auth", (args, ack) -> auth.complete(args));
            await(custom.connectAsync());
            assertEquals(List.of(Map.of("user", "ada", "id", 7L)), await(auth));
            assertTrue(manager.socket("/").getNamespace().equals("/"));
        }
    }
}
