// Apache Kafka's Java client (kafka-clients) in the client benchmark: the same flags, work and
// RESULT lines as the Rust binaries (peer-bench/src/lib.rs).
//
// produce: KafkaProducer.send per record (a value only, no key: the default partitioner), then
//   flush. The clock starts at the first send, with the topic's metadata already fetched
//   (partitionsFor), and stops when flush returns and every callback has reported.
// consume: a KafkaConsumer with no group, assigned partition 0 and sought to the beginning,
//   polling until every record is read. The clock starts at the first poll that returns records.
//
// --settings equal (the default): acks=all, idempotence off, no compression, --linger-ms,
//   --batch-bytes; fetch.max.wait.ms, max.partition.fetch.bytes and fetch.max.bytes from the
//   flags. --settings defaults: only bootstrap.servers and the byte-array (de)serializers, so
//   kafka-clients 4.x's defaults: acks=all, idempotence on, linger.ms 5, batch.size 16,384,
//   no compression, buffer.memory 32 MiB; fetch.max.wait.ms 500, fetch.max.bytes 52,428,800,
//   max.partition.fetch.bytes 1,048,576, max.poll.records 500.
//
// Exits 1 (with the reason on stderr) unless exactly --records records and --records x --size
// payload bytes were acknowledged or read; 2 on a bad command line.

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class JavaBench {
    /** How long the consumer may go without a record before the run counts as failed. */
    private static final Duration IDLE_LIMIT = Duration.ofSeconds(60);

    private String bootstrap = "127.0.0.1:19092";
    private String topic = "peer-bench";
    private long records = 100_000;
    private int size = 100;
    private long lingerMs = 5;
    private int batchBytes = 1_000_000;
    private long maxWaitMs = 10;
    private int partitionFetchBytes = 1_048_576;
    private int fetchMaxBytes = 52_428_800;
    private String phase = "both";
    private final List<String> opts = new ArrayList<>();
    private boolean defaults;

    public static void main(String[] argv) throws Exception {
        JavaBench b = parse(argv);
        if (b.phase.equals("produce") || b.phase.equals("both")) {
            b.produce();
        }
        if (b.phase.equals("consume") || b.phase.equals("both")) {
            b.consume();
        }
    }

    private static JavaBench parse(String[] argv) {
        JavaBench b = new JavaBench();
        for (int i = 0; i < argv.length; i += 2) {
            String flag = argv[i];
            if (i + 1 >= argv.length) {
                usage(flag + " needs a value");
            }
            String v = argv[i + 1];
            switch (flag) {
                case "--bootstrap" -> b.bootstrap = v;
                case "--topic" -> b.topic = v;
                case "--records" -> b.records = number(flag, v);
                case "--size" -> b.size = (int) number(flag, v);
                case "--linger-ms" -> b.lingerMs = number(flag, v);
                case "--batch-bytes" -> b.batchBytes = (int) number(flag, v);
                case "--max-wait-ms" -> b.maxWaitMs = number(flag, v);
                case "--partition-fetch-bytes" -> b.partitionFetchBytes = (int) number(flag, v);
                case "--fetch-max-bytes" -> b.fetchMaxBytes = (int) number(flag, v);
                case "--phase" -> b.phase = v;
                case "--opt" -> b.opts.add(v);
                case "--settings" -> {
                    if (!v.equals("equal") && !v.equals("defaults")) {
                        usage("--settings is equal or defaults, not " + v);
                    }
                    b.defaults = v.equals("defaults");
                }
                default -> usage("unknown flag " + flag);
            }
        }
        return b;
    }

    private static long number(String flag, String v) {
        try {
            long n = Long.parseLong(v);
            if (n < 0 || n > Integer.MAX_VALUE && !flag.equals("--records")) {
                usage("bad number for " + flag + ": " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            usage("bad number for " + flag + ": " + v);
            return 0;
        }
    }

    private static void usage(String msg) {
        System.err.println("error: " + msg + "\nusage: JavaBench [--bootstrap H:P] [--topic T] [--records N]"
                + " [--size BYTES] [--linger-ms MS] [--batch-bytes B] [--max-wait-ms MS]"
                + " [--partition-fetch-bytes B] [--fetch-max-bytes B] [--phase produce|consume|both]"
                + " [--opt NAME]... [--settings equal|defaults]");
        System.exit(2);
    }

    /** The same bytes as peer_bench::payload: xorshift64 noise over a-z. */
    static byte[] payload(int size) {
        long x = 0x9E3779B97F4A7C15L;
        byte[] out = new byte[size];
        for (int i = 0; i < size; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            out[i] = (byte) ('a' + Long.remainderUnsigned(x, 26));
        }
        return out;
    }

    private void produce() throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        if (!defaults) {
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, Boolean.toString(opts.contains("idempotence")));
            p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
            p.put(ProducerConfig.LINGER_MS_CONFIG, Long.toString(lingerMs));
            p.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(batchBytes));
        }
        byte[] value = payload(size);
        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicReference<Exception> firstError = new AtomicReference<>();
        long elapsed;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.partitionsFor(topic); // metadata before the clock starts, as for the others
            long started = System.nanoTime();
            for (long i = 0; i < records; i++) {
                producer.send(new ProducerRecord<>(topic, value), (meta, e) -> {
                    if (e == null) {
                        acked.incrementAndGet();
                    } else {
                        failed.incrementAndGet();
                        firstError.compareAndSet(null, e);
                    }
                });
            }
            producer.flush();
            elapsed = System.nanoTime() - started;
        }
        if (failed.get() > 0) {
            System.err.println("error: java produce: " + failed.get() + " records failed: " + firstError.get());
            System.exit(1);
        }
        report("produce", acked.get(), acked.get() * size, elapsed);
    }

    private void consume() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        if (!defaults) {
            p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, Long.toString(maxWaitMs));
            p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(partitionFetchBytes));
            p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Integer.toString(fetchMaxBytes));
        }
        long got = 0;
        long bytes = 0;
        long started = 0;
        long elapsed;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long lastRecord = System.nanoTime();
            while (got < records) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(100));
                long now = System.nanoTime();
                if (batch.isEmpty()) {
                    if (now - lastRecord > IDLE_LIMIT.toNanos()) {
                        System.err.println("error: java consume: no record for " + IDLE_LIMIT.toSeconds()
                                + " s after " + got + " of " + records);
                        System.exit(1);
                    }
                    continue;
                }
                if (started == 0) {
                    started = now;
                }
                lastRecord = now;
                for (ConsumerRecord<byte[], byte[]> r : batch) {
                    got++;
                    if (r.value() != null) {
                        bytes += r.value().length;
                    }
                }
            }
            elapsed = System.nanoTime() - started;
        }
        report("consume", got, bytes, elapsed);
    }

    private void report(String phaseName, long got, long bytes, long nanos) {
        long expected = records * size;
        if (got != records || bytes != expected) {
            System.err.printf(Locale.ROOT, "error: java %s: got %d records / %d bytes, expected %d / %d%n",
                    phaseName, got, bytes, records, expected);
            System.exit(1);
        }
        double secs = nanos / 1e9;
        System.out.printf(Locale.ROOT, "RESULT client=java phase=%s size=%d records=%d secs=%.3f rec_s=%.0f mb_s=%.1f%n",
                phaseName, size, got, secs, got / secs, bytes / secs / 1e6);
        System.out.flush();
    }
}
