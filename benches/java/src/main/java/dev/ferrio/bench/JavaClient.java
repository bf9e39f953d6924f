/*
 * socket.io-client-java bench client: `java -jar socketio-java-bench.jar <scenario> <url> <n>`.
 *
 * The scenarios of benches/README.md, written like the other clients (the Kotlin client's
 * Main.kt above all, which it is compared with): the same warm-up (one `echo` call before a
 * measured loop), the same measured loop, one `RESULT {json}` line. CPU is the JVM process's
 * (every thread: the JIT compiler, the GC, OkHttp's and the client's event thread) over the
 * measured loop.
 */
package dev.ferrio.bench;

import com.sun.management.OperatingSystemMXBean;
import io.socket.client.Ack;
import io.socket.client.IO;
import io.socket.client.Manager;
import io.socket.client.Socket;
import io.socket.engineio.client.Transport;
import io.socket.engineio.client.transports.Polling;
import io.socket.engineio.client.transports.WebSocket;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import org.json.JSONException;
import org.json.JSONObject;

/** The bench client of socket.io-client-java 2.1, the official Java client. */
public final class JavaClient {
    private static final String PAYLOAD = "0123456789abcdef";
    private static final long ACK_TIMEOUT_S = 120;
    private static final long CONNECT_TIMEOUT_S = 60;

    private static final OperatingSystemMXBean OS =
            (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    /**
     * The HTTP client every manager shares, as the library's default one is shared, but whose
     * dispatcher runs any number of calls at once: OkHttp's default of 5 per host counts open
     * WebSockets, which would stall the memory scenario's 6th concurrent connect.
     */
    private static final OkHttpClient HTTP = http();

    private JavaClient() {}

    private static OkHttpClient http() {
        Dispatcher dispatcher = new Dispatcher();
        dispatcher.setMaxRequests(Integer.MAX_VALUE);
        dispatcher.setMaxRequestsPerHost(Integer.MAX_VALUE);
        return new OkHttpClient.Builder().dispatcher(dispatcher).build();
    }

    /** User + system CPU time of this process (all of its threads), in seconds. */
    private static double cpuSeconds() {
        return OS.getProcessCpuTime() / 1e9;
    }

    /** A field of /proc/self/status in KiB: `VmRSS` (now) or `VmHWM` (the peak). */
    private static long statusKib(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
            }
        }
        throw new IOException("no " + field + " in /proc/self/status");
    }

    /** Wall-clock and CPU seconds since its creation. */
    private static final class Meter {
        private final long wall = System.nanoTime();
        private final double cpu = cpuSeconds();

        double[] stop() {
            return new double[] {(System.nanoTime() - wall) / 1e9, cpuSeconds() - cpu};
        }
    }

    /** Prints the one result line the driver reads, with this process's peak RSS. */
    private static void report(Map<String, Object> fields) throws IOException {
        fields.put("peak_rss_kib", statusKib("VmHWM"));
        System.out.println("RESULT " + new JSONObject(fields));
    }

    private static void throughput(int n, double[] wallCpu, Map<String, Object> extra) throws IOException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("n", n);
        fields.put("wall_s", wallCpu[0]);
        fields.put("cpu_s", wallCpu[1]);
        fields.put("per_s", n / wallCpu[0]);
        fields.put("cpu_us_per_msg", wallCpu[1] / n * 1e6);
        fields.putAll(extra);
        report(fields);
    }

    private static void latencies(double[] samplesUs, double[] wallCpu) throws IOException {
        double[] sorted = samplesUs.clone();
        Arrays.sort(sorted);
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("n", sorted.length);
        fields.put("wall_s", wallCpu[0]);
        fields.put("cpu_s", wallCpu[1]);
        fields.put("cpu_us_per_msg", wallCpu[1] / sorted.length * 1e6);
        fields.put("p50_us", sorted[(int) Math.round((sorted.length - 1) * 0.5)]);
        fields.put("p99_us", sorted[(int) Math.round((sorted.length - 1) * 0.99)]);
        report(fields);
    }

    /** The `{n, s}` object every scenario sends. */
    private static JSONObject message(int n) {
        try {
            return new JSONObject().put("n", n).put("s", PAYLOAD);
        } catch (JSONException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A connected socket on a manager of its own without reconnection: WebSocket only, or
     * polling then the upgrade (returned once the manager's transport is the WebSocket).
     */
    private static Socket connect(String url, boolean websocketOnly) throws Exception {
        IO.Options options = new IO.Options();
        options.forceNew = true;
        options.callFactory = HTTP;
        options.webSocketFactory = HTTP;
        options.reconnection = false;
        options.transports = websocketOnly ? new String[] {WebSocket.NAME} : new String[] {Polling.NAME, WebSocket.NAME};
        Socket socket = IO.socket(URI.create(url), options);
        CompletableFuture<Void> connected = new CompletableFuture<>();
        CompletableFuture<Void> upgraded = new CompletableFuture<>();
        socket.io().on(Manager.EVENT_TRANSPORT, args -> {
            if (args.length > 0 && args[0] instanceof Transport && WebSocket.NAME.equals(((Transport) args[0]).name)) {
                upgraded.complete(null);
            }
        });
        socket.once(Socket.EVENT_CONNECT, args -> connected.complete(null));
        socket.once(Socket.EVENT_CONNECT_ERROR, args ->
                connected.completeExceptionally(new IllegalStateException("connect_error " + Arrays.toString(args))));
        socket.connect();
        connected.get(CONNECT_TIMEOUT_S, TimeUnit.SECONDS);
        if (!websocketOnly) {
            upgraded.get(CONNECT_TIMEOUT_S, TimeUnit.SECONDS);
        }
        return socket;
    }

    /** Emits `event` with `args` and waits for its ack's arguments. */
    private static Object[] call(Socket socket, String event, Object... args) throws Exception {
        CompletableFuture<Object[]> reply = new CompletableFuture<>();
        socket.emit(event, args, (Ack) reply::complete);
        return reply.get(ACK_TIMEOUT_S, TimeUnit.SECONDS);
    }

    private static void emit(String url, int n) throws Exception {
        Socket socket = connect(url, true);
        call(socket, "echo", "warm up");
        Meter meter = new Meter();
        for (int i = 0; i < n; i++) {
            socket.emit("e", message(i));
        }
        Object[] count = call(socket, "count");
        double[] wallCpu = meter.stop();
        if (count.length != 1 || ((Number) count[0]).intValue() != n) {
            throw new IllegalStateException("server count " + Arrays.toString(count));
        }
        throughput(n, wallCpu, Map.of());
        socket.disconnect();
    }

    private static void receive(String url, int n) throws Exception {
        Socket socket = connect(url, true);
        // The listeners run on the client's event thread.
        AtomicLong received = new AtomicLong();
        CompletableFuture<Void> done = new CompletableFuture<>();
        socket.on("r", args -> {
            if (args.length > 0) {
                received.incrementAndGet();
            }
        });
        socket.on("done", args -> done.complete(null));
        call(socket, "echo", "warm up");
        Meter meter = new Meter();
        socket.emit("send", n);
        done.get(ACK_TIMEOUT_S, TimeUnit.SECONDS);
        double[] wallCpu = meter.stop();
        long got = received.get();
        throughput(n, wallCpu, Map.of("received", got, "dropped", n - got));
        socket.disconnect();
    }

    private static void ack(String url, int n) throws Exception {
        Socket socket = connect(url, true);
        call(socket, "echo", "warm up");
        Meter meter = new Meter();
        double[] samples = new double[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            Object[] reply = call(socket, "echo", message(i));
            samples[i] = (System.nanoTime() - start) / 1e3;
            if (reply.length != 1) {
                throw new IllegalStateException("echo answered " + Arrays.toString(reply));
            }
        }
        latencies(samples, meter.stop());
        socket.disconnect();
    }

    private static void binary(String url, int n) throws Exception {
        Socket socket = connect(url, true);
        byte[] data = new byte[64 * 1024];
        Arrays.fill(data, (byte) 7);
        call(socket, "echo", "warm up");
        Meter meter = new Meter();
        double[] samples = new double[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            Object[] reply = call(socket, "bin", (Object) data);
            samples[i] = (System.nanoTime() - start) / 1e3;
            if (reply.length != 1 || !(reply[0] instanceof byte[]) || ((byte[]) reply[0]).length != data.length) {
                throw new IllegalStateException("bin answered " + Arrays.toString(reply));
            }
        }
        latencies(samples, meter.stop());
        socket.disconnect();
    }

    /** Sequential connects, each until the namespace is connected (and upgraded, unless websocketOnly). */
    private static void connects(String url, int n, boolean websocketOnly) throws Exception {
        Meter meter = new Meter();
        double[] samples = new double[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            Socket socket = connect(url, websocketOnly);
            samples[i] = (System.nanoTime() - start) / 1e3;
            socket.disconnect();
        }
        latencies(samples, meter.stop());
    }

    /** RSS growth per idle WebSocket connection, connected 100 at a time. */
    private static void memory(String url, int n) throws Exception {
        // Two rounds of n idle connections: kib_per_conn is the second round's growth (the
        // marginal cost: class loading and the JIT fall in the first round),
        // kib_per_conn_first the first round's (benches/README.md, "Memory").
        Thread.sleep(200);
        long[] readings = new long[3];
        readings[0] = statusKib("VmRSS");
        List<Socket> sockets = new ArrayList<>();
        for (int round = 1; round <= 2; round++) {
            for (int first = 0; first < n; first += 100) {
                List<CompletableFuture<Socket>> batch = new ArrayList<>();
                for (int i = first; i < Math.min(n, first + 100); i++) {
                    batch.add(CompletableFuture.supplyAsync(() -> {
                        try {
                            return connect(url, true);
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }));
                }
                for (CompletableFuture<Socket> socket : batch) {
                    sockets.add(socket.get(CONNECT_TIMEOUT_S, TimeUnit.SECONDS));
                }
            }
            Thread.sleep(1000);
            readings[round] = statusKib("VmRSS");
        }
        long before = readings[0];
        long mid = readings[1];
        long after = readings[2];
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("n", n);
        fields.put("rss_before_kib", before);
        fields.put("rss_mid_kib", mid);
        fields.put("rss_after_kib", after);
        fields.put("kib_per_conn", (after - mid) / (double) n);
        fields.put("kib_per_conn_first", (mid - before) / (double) n);
        report(fields);
        sockets.forEach(Socket::disconnect);
    }

    /** Runs one scenario; exits the JVM, whose OkHttp threads would otherwise linger. */
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            throw new IllegalArgumentException("usage: socketio-java-bench <scenario> <url> <n>");
        }
        String url = args[1];
        int n = Integer.parseInt(args[2]);
        switch (args[0]) {
            case "emit": emit(url, n); break;
            case "receive": receive(url, n); break;
            case "ack": ack(url, n); break;
            case "binary": binary(url, n); break;
            case "connect_ws": connects(url, n, true); break;
            case "connect_upgrade": connects(url, n, false); break;
            case "memory": memory(url, n); break;
            default: throw new IllegalArgumentException("unknown scenario " + args[0]);
        }
        System.exit(0);
    }
}
