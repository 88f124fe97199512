// Apache Flink in the job benchmark (peer-bench/flink.sh): the bounded count job that
// src/bin/kwire-job.rs runs on kwire, on Flink 2.2 in a local MiniCluster.
//
//   java -cp 'target/flink-count-job.jar:target/libs/*' FlinkCountJob BOOTSTRAP TOPIC PARALLELISM RECORDS
//
// The job: Flink's KafkaSource (flink-connector-kafka) reads TOPIC from the earliest offsets to
// the latest ones as they are when the job starts (a bounded source), each record's value as a
// byte[]; a sink counts the records and drops them. Checkpoints every 1,000 ms (exactly-once
// mode, Flink's default). Everything else is Flink's and the connector's defaults: no group id,
// so no offset commits; the Kafka consumer's fetch.max.wait.ms 500, fetch.min.bytes 1,
// fetch.max.bytes 52,428,800, max.partition.fetch.bytes 1,048,576, max.poll.records 500; object
// reuse off; the MiniCluster's memory defaults; the JVM's own defaults (G1, a heap of up to a
// quarter of the machine's memory).
//
// Prints one line on stdout:
//
//   RESULT client=flink phase=job parallelism=P records=N secs=S rec_s=R net_secs=T net_rec_s=Q
//
// secs: from the call to execute() (which starts the MiniCluster, submits the job and waits for
// it) until it returns with the job finished. net_secs: the job's own net runtime as Flink
// reports it (JobExecutionResult.getNetRuntime, from the job's submission to the MiniCluster to
// its end), which leaves out the MiniCluster's start and stop.
//
// Exits 1 unless the sink counted exactly RECORDS records; 2 on a bad command line.

import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class FlinkCountJob {
    /**
     * Records counted by every sink instance. The MiniCluster runs the tasks in this JVM, with
     * this class on the classpath, so its sinks add to this one counter.
     */
    static final AtomicLong COUNTED = new AtomicLong();

    public static void main(String[] argv) throws Exception {
        if (argv.length != 4) {
            System.err.println("usage: FlinkCountJob BOOTSTRAP TOPIC PARALLELISM RECORDS");
            System.exit(2);
        }
        String bootstrap = argv[0];
        String topic = argv[1];
        int parallelism = Integer.parseInt(argv[2]);
        long expected = Long.parseLong(argv[3]);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism);
        env.enableCheckpointing(1000);
        KafkaSource<byte[]> source = KafkaSource.<byte[]>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(topic)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setBounded(OffsetsInitializer.latest())
                .setDeserializer(KafkaRecordDeserializationSchema.valueOnly(ByteArrayDeserializer.class))
                .build();
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka").sinkTo(new CountingSink());

        long started = System.nanoTime();
        JobExecutionResult result = env.execute("count");
        double secs = (System.nanoTime() - started) / 1e9;
        double netSecs = result.getNetRuntime(TimeUnit.MILLISECONDS) / 1e3;
        long records = COUNTED.get();
        System.out.printf(Locale.ROOT,
                "RESULT client=flink phase=job parallelism=%d records=%d secs=%.3f rec_s=%.0f net_secs=%.3f net_rec_s=%.0f%n",
                parallelism, records, secs, records / secs, netSecs, records / netSecs);
        if (records != expected) {
            System.err.printf("counted %d records, expected %d%n", records, expected);
            System.exit(1);
        }
    }

    /** Counts records and drops them. */
    static final class CountingSink implements Sink<byte[]> {
        @Override
        public SinkWriter<byte[]> createWriter(WriterInitContext context) {
            return new CountingWriter();
        }
    }

    /**
     * Counts in a field of its own and adds to {@link #COUNTED} at each flush (every checkpoint
     * and the end of the input), so that instances do not share a counter per record.
     */
    static final class CountingWriter implements SinkWriter<byte[]> {
        private long count;

        @Override
        public void write(byte[] element, Context context) {
            count++;
        }

        @Override
        public void flush(boolean endOfInput) {
            COUNTED.addAndGet(count);
            count = 0;
        }

        @Override
        public void close() {
            COUNTED.addAndGet(count);
            count = 0;
        }
    }
}
