// The Java peer of kwire's interop tests: Apache Kafka's own Java client (kafka-clients) driven
// through a line format, so Rust tests can make the reference client produce, consume and
// partition, and compare what it did with what kwire did.
//
// Usage (every subcommand takes --bootstrap HOST:PORT; `partition` ignores it):
//
//   produce --topic T [--compression none|gzip|snappy|lz4|zstd] [--idempotent]
//           [--transactional-id ID] [--abort]
//       Reads records from stdin, one a line: partition<TAB>keyhex<TAB>valuehex<TAB>headers.
//       partition -1 lets the client's default partitioner choose; keyhex or valuehex "-" is
//       null; headers are comma-separated namehex=valuehex (valuehex "-": a null value), empty
//       for none. Sends them all with acks=all (in one transaction with --transactional-id,
//       committed, or aborted with --abort), flushes, and prints "partition offset" per record in
//       input order.
//
//   consume --topic T --partitions N [--isolation read_committed|read_uncommitted]
//           --expected K [--timeout-ms MS]
//       Assigns partitions 0..N-1 (no group), seeks to the beginning, polls until K records
//       arrived or the timeout passed, then polls one more second for records beyond K. Prints
//       partition<TAB>offset<TAB>keyhex<TAB>valuehex<TAB>headers per record (the encoding above),
//       sorted by partition and offset. Exits 2 if fewer than K arrived, 3 if more did.
//
//   partition --partitions N KEYHEX...
//       Prints, one a line, the partition the client's default partitioner gives each key.
//
// Any failure: the exception on stderr and exit status 1 (64 for bad arguments).

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class KwirePeer {
    private static final int EXIT_USAGE = 64;
    private static final int EXIT_TOO_FEW = 2;
    private static final int EXIT_TOO_MANY = 3;

    /** A bad command line: reported in one line with the usage exit status. */
    private static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    public static void main(String[] argv) {
        int status;
        try {
            status = run(argv);
        } catch (UsageException e) {
            System.err.println("kwire-peer: " + e.getMessage());
            status = EXIT_USAGE;
        } catch (Throwable e) {
            e.printStackTrace(System.err);
            status = 1;
        }
        System.out.flush();
        System.err.flush();
        System.exit(status);
    }

    private static int run(String[] argv) throws Exception {
        if (argv.length == 0) {
            throw new UsageException("missing subcommand: produce, consume, partition or group");
        }
        Options opts = Options.parse(argv);
        switch (argv[0]) {
            case "produce":
                return produce(opts);
            case "consume":
                return consume(opts);
            case "partition":
                return partition(opts);
            case "group":
                return group(opts);
            default:
                throw new UsageException("unknown subcommand " + argv[0]);
        }
    }

    /** The flags after the subcommand, and the arguments that are not flags. */
    private static final class Options {
        final Map<String, String> values = new HashMap<>();
        final List<String> flags = new ArrayList<>();
        final List<String> positional = new ArrayList<>();

        private static final List<String> SWITCHES = List.of("--idempotent", "--abort");

        static Options parse(String[] argv) throws UsageException {
            Options o = new Options();
            for (int i = 1; i < argv.length; i++) {
                String a = argv[i];
                if (SWITCHES.contains(a)) {
                    o.flags.add(a);
                } else if (a.startsWith("--")) {
                    if (i + 1 >= argv.length) {
                        throw new UsageException(a + " needs a value");
                    }
                    o.values.put(a, argv[++i]);
                } else {
                    o.positional.add(a);
                }
            }
            return o;
        }

        String required(String name) throws UsageException {
            String v = values.get(name);
            if (v == null) {
                throw new UsageException("missing " + name);
            }
            return v;
        }

        String optional(String name, String fallback) {
            return values.getOrDefault(name, fallback);
        }

        int integer(String name, String fallback) throws UsageException {
            String v = fallback == null ? required(name) : optional(name, fallback);
            try {
                return Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new UsageException(name + " is not a number: " + v);
            }
        }

        boolean has(String flag) {
            return flags.contains(flag);
        }
    }

    // ---- group ----

    /**
     * A member of consumer group --group (group.protocol --protocol, default consumer) reading
     * --topic from the earliest offset until stdin closes; then it commits and leaves. Prints
     * "ASSIGNED p p ...", "REVOKED ...", "LOST ..." as partitions come and go (committing before
     * a revocation completes), and "R partition offset" per record.
     */
    private static int group(Options opts) throws Exception {
        String topic = opts.required("--topic");
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, opts.required("--bootstrap"));
        props.put(ConsumerConfig.GROUP_ID_CONFIG, opts.required("--group"));
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, opts.optional("--protocol", "consumer"));
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "kwire-java-peer");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            Thread watcher = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // Runs until stdin closes.
                    }
                } catch (java.io.IOException e) {
                    // Closed all the same.
                }
                stop.set(true);
                consumer.wakeup();
            });
            watcher.setDaemon(true);
            watcher.start();
            consumer.subscribe(List.of(topic), new org.apache.kafka.clients.consumer.ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> parts) {
                    consumer.commitSync();
                    System.out.println("REVOKED" + partitionList(parts));
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> parts) {
                    System.out.println("ASSIGNED" + partitionList(parts));
                }

                @Override
                public void onPartitionsLost(java.util.Collection<TopicPartition> parts) {
                    System.out.println("LOST" + partitionList(parts));
                }
            });
            while (!stop.get()) {
                try {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                        System.out.println("R " + r.partition() + " " + r.offset());
                    }
                    System.out.flush();
                } catch (org.apache.kafka.common.errors.WakeupException e) {
                    break;
                }
            }
            consumer.commitSync();
        }
        System.out.println("CLOSED");
        return 0;
    }

    private static String partitionList(java.util.Collection<TopicPartition> parts) {
        StringBuilder b = new StringBuilder();
        for (TopicPartition tp : parts) {
            b.append(' ').append(tp.partition());
        }
        return b.toString();
    }

    // ---- produce ----

    private static int produce(Options opts) throws Exception {
        String topic = opts.required("--topic");
        String compression = opts.optional("--compression", "none");
        if (!List.of("none", "gzip", "snappy", "lz4", "zstd").contains(compression)) {
            throw new UsageException("unknown compression " + compression);
        }
        String txnId = opts.values.get("--transactional-id");
        boolean abort = opts.has("--abort");
        if (abort && txnId == null) {
            throw new UsageException("--abort needs --transactional-id");
        }

        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        int lineNo = 0;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (line.isEmpty()) {
                continue;
            }
            records.add(parseRecord(topic, line, lineNo));
        }

        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, opts.required("--bootstrap"));
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        // Idempotence is on by default in the Java client: off unless asked for (a transaction
        // needs it).
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
                Boolean.toString(opts.has("--idempotent") || txnId != null));
        if (txnId != null) {
            props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        }
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "kwire-java-peer");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());

        List<Future<RecordMetadata>> sent = new ArrayList<>(records.size());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            if (txnId != null) {
                producer.initTransactions();
                producer.beginTransaction();
            }
            for (ProducerRecord<byte[], byte[]> r : records) {
                sent.add(producer.send(r));
            }
            producer.flush();
            // Every record is acknowledged (or failed) before the transaction ends.
            List<RecordMetadata> written = new ArrayList<>(sent.size());
            for (Future<RecordMetadata> f : sent) {
                written.add(f.get());
            }
            if (txnId != null) {
                if (abort) {
                    producer.abortTransaction();
                } else {
                    producer.commitTransaction();
                }
            }
            StringBuilder out = new StringBuilder();
            for (RecordMetadata md : written) {
                out.append(md.partition()).append(' ').append(md.offset()).append('\n');
            }
            System.out.print(out);
        }
        return 0;
    }

    private static ProducerRecord<byte[], byte[]> parseRecord(String topic, String line, int lineNo)
            throws UsageException {
        String[] fields = line.split("\t", -1);
        if (fields.length != 4) {
            throw new UsageException("line " + lineNo + ": " + fields.length
                    + " tab-separated fields, want partition, key, value, headers");
        }
        Integer partition;
        try {
            int p = Integer.parseInt(fields[0]);
            partition = p == -1 ? null : p;
        } catch (NumberFormatException e) {
            throw new UsageException("line " + lineNo + ": bad partition " + fields[0]);
        }
        String where = "line " + lineNo;
        byte[] key = nullableHex(fields[1], where);
        byte[] value = nullableHex(fields[2], where);
        List<Header> headers = new ArrayList<>();
        if (!fields[3].isEmpty()) {
            for (String h : fields[3].split(",", -1)) {
                int eq = h.indexOf('=');
                if (eq < 0) {
                    throw new UsageException("line " + lineNo + ": header without '=': " + h);
                }
                String name = new String(hex(h.substring(0, eq), where), StandardCharsets.UTF_8);
                headers.add(new RecordHeader(name, nullableHex(h.substring(eq + 1), where)));
            }
        }
        return new ProducerRecord<>(topic, partition, key, value, headers);
    }

    // ---- consume ----

    private static int consume(Options opts) throws Exception {
        String topic = opts.required("--topic");
        int partitions = opts.integer("--partitions", null);
        int expected = opts.integer("--expected", null);
        int timeoutMs = opts.integer("--timeout-ms", "30000");
        String isolation = opts.optional("--isolation", "read_uncommitted");
        if (!isolation.equals("read_committed") && !isolation.equals("read_uncommitted")) {
            throw new UsageException("unknown isolation " + isolation);
        }

        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, opts.required("--bootstrap"));
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        // No group: assign() and no offset commits.
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "kwire-java-peer");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());

        List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
            while (got.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100)).forEach(got::add);
            }
            // Anything beyond what was expected would be a duplicate or a record that should not
            // be visible: give it a second to show up.
            long extra = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < extra) {
                consumer.poll(Duration.ofMillis(100)).forEach(got::add);
            }
        }

        got.sort(Comparator.<ConsumerRecord<byte[], byte[]>>comparingInt(ConsumerRecord::partition)
                .thenComparingLong(ConsumerRecord::offset));
        StringBuilder out = new StringBuilder();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            out.append(r.partition()).append('\t').append(r.offset()).append('\t')
                    .append(nullableHex(r.key())).append('\t')
                    .append(nullableHex(r.value())).append('\t');
            boolean first = true;
            for (Header h : r.headers()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                out.append(hex(h.key().getBytes(StandardCharsets.UTF_8))).append('=')
                        .append(nullableHex(h.value()));
            }
            out.append('\n');
        }
        System.out.print(out);
        if (got.size() < expected) {
            System.err.println("kwire-peer: " + got.size() + " records within " + timeoutMs
                    + " ms, expected " + expected);
            return EXIT_TOO_FEW;
        }
        if (got.size() > expected) {
            System.err.println("kwire-peer: " + got.size() + " records, expected " + expected);
            return EXIT_TOO_MANY;
        }
        return 0;
    }

    // ---- partition ----

    private static int partition(Options opts) throws Exception {
        int partitions = opts.integer("--partitions", null);
        if (partitions <= 0) {
            throw new UsageException("--partitions must be positive");
        }
        StringBuilder out = new StringBuilder();
        for (String k : opts.positional) {
            // The partitioner the producer itself uses for a keyed record without a partition.
            out.append(BuiltInPartitioner.partitionForKey(hex(k, "key " + k), partitions)).append('\n');
        }
        System.out.print(out);
        return 0;
    }

    // ---- hex ----

    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private static String hex(byte[] bytes) {
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = DIGITS[(bytes[i] >> 4) & 0xf];
            out[2 * i + 1] = DIGITS[bytes[i] & 0xf];
        }
        return new String(out);
    }

    private static String nullableHex(byte[] bytes) {
        return bytes == null ? "-" : hex(bytes);
    }

    private static byte[] hex(String text, String where) throws UsageException {
        if (text.length() % 2 != 0) {
            throw new UsageException(where + ": odd-length hex " + text);
        }
        byte[] out = new byte[text.length() / 2];
        for (int i = 0; i < out.length; i++) {
            int hi = Character.digit(text.charAt(2 * i), 16);
            int lo = Character.digit(text.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new UsageException(where + ": not hex: " + text);
            }
            out[i] = (byte) (hi << 4 | lo);
        }
        return out;
    }

    private static byte[] nullableHex(String text, String where) throws UsageException {
        return text.equals("-") ? null : hex(text, where);
    }
}
