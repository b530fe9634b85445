// Figures for issue 5, from the JVM (tests/bindings/measure.sh):
//   next-activity CALLS: µs per nextActivity() through the Kotlin bindings;
//   cycles N: N open / use / close cycles, resident memory at the start and the end.

import com.sun.jna.Library
import com.sun.jna.Native
import com.sun.jna.Structure
import dev.tidbit.ffi.KeyStore
import dev.tidbit.ffi.core.Response
import dev.tidbit.ffi.Tidbit
import dev.tidbit.ffi.TidbitConfig
import java.io.File
import java.lang.management.ManagementFactory
import java.nio.file.Files
import kotlinx.coroutines.runBlocking

object NoKeys : KeyStore {
    override fun certificateSigningKey(): String? = null
    override fun atRestKey(): ByteArray? = null
    override fun destroyAtRestKey() {}
}

fun status(field: String): Long =
    File("/proc/self/status").readLines().first { it.startsWith("$field:") }.split(Regex("\\s+"))[1].toLong()

fun residentKb(): Long = status("VmRSS")

fun heapKb(): Long = Runtime.getRuntime().let { (it.totalMemory() - it.freeMemory()) / 1024 }

/** glibc's `struct mallinfo2`: what the C heap holds, over every arena. */
@Structure.FieldOrder("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")
open class MallInfo2 : Structure() {
    @JvmField var arena: Long = 0
    @JvmField var ordblks: Long = 0
    @JvmField var smblks: Long = 0
    @JvmField var hblks: Long = 0
    @JvmField var hblkhd: Long = 0
    @JvmField var usmblks: Long = 0
    @JvmField var fsmblks: Long = 0
    @JvmField var uordblks: Long = 0
    @JvmField var fordblks: Long = 0
    @JvmField var keepcost: Long = 0

    class ByValue : MallInfo2(), Structure.ByValue
}

interface LibC : Library {
    fun mallinfo2(): MallInfo2.ByValue
}

val libc: LibC = Native.load("c", LibC::class.java)

/** Bytes the C heap has handed out and not had back (Rust, SQLite, JNA, the JVM's own C++), KiB. */
fun mallocInUseKb(): Long = libc.mallinfo2().let { (it.uordblks + it.hblkhd) / 1024 }

/** What the JVM itself holds: heap and non-heap (JIT code cache, metaspace) committed, KiB. */
fun jvmCommittedKb(): Pair<Long, Long> = ManagementFactory.getMemoryMXBean().let {
    it.heapMemoryUsage.committed / 1024 to it.nonHeapMemoryUsage.committed / 1024
}

fun config(dir: File, device: String) = TidbitConfig(
    dataDir = dir.path,
    learnerId = "bench",
    deviceId = device,
    timeZone = "Europe/Berlin",
    trustedKeys = listOf(File(System.getenv("TIDBIT_AUTHOR_PUB")).readText()),
)

fun prepared(dir: File, device: String): Tidbit {
    val tidbit = Tidbit.open(config(dir, device), NoKeys)
    runBlocking { tidbit.installPack(System.getenv("TIDBIT_PACK"), null) }
    tidbit.enroll("binding-tour", "tourist")
    tidbit.startModule("binding-tour", "tour")
    tidbit.answer("binding-tour", "tour-single", Response.SingleChoice(0u), 5_000u)
    return tidbit
}

fun nextActivity(calls: Int) {
    val dir = Files.createTempDirectory("tidbit-measure").toFile()
    prepared(dir, "bench-kotlin").use { tidbit ->
        // Warm-up: 2,000 calls, as in the Rust and Python runs, then until the JIT has compiled
        // the call path with its optimising compiler (about 10,000 invocations), as in an app
        // that has been running a while.
        repeat(12_000) { tidbit.nextActivity() }
        val threads = ManagementFactory.getThreadMXBean()
        val started = System.nanoTime()
        val startedCpu = threads.currentThreadCpuTime
        repeat(calls) { tidbit.nextActivity() }
        val wall = (System.nanoTime() - started) / 1e3 / calls
        val cpu = (threads.currentThreadCpuTime - startedCpu) / 1e3 / calls
        println("kotlin via bindings:     %8.1f us/call wall, %8.1f us/call thread CPU (%d calls)".format(wall, cpu, calls))
    }
    dir.deleteRecursively()
}

fun cycles(count: Int) {
    val dir = Files.createTempDirectory("tidbit-cycles").toFile()
    prepared(dir, "cycles").use { it.closeStore() }
    fun settle(): Long {
        repeat(3) { System.gc(); Thread.sleep(50) }
        return residentKb()
    }
    var start = 0L
    for (i in 1..count) {
        Tidbit.open(config(dir, "cycles"), NoKeys).use { tidbit ->
            tidbit.nextActivity()
            tidbit.dueCounts()
            tidbit.closeStore()
        }
        if (i == 100 || i % 2_000 == 0) {
            val resident = settle()
            if (i == 100) start = resident
            val (heap, nonHeap) = jvmCommittedKb()
            println(
                "  after %5d cycles: RSS %d KiB; malloc in use %d KiB; JVM heap in use %d KiB, committed %d KiB, non-heap committed %d KiB; threads %d"
                    .format(i, resident, mallocInUseKb(), heapKb(), heap, nonHeap, status("Threads")),
            )
        }
    }
    val end = settle()
    println("kotlin open/use/close: RSS after 100 cycles %d KiB, after %d cycles %d KiB (%+d KiB)".format(start, count, end, end - start))
    dir.deleteRecursively()
}

fun main(args: Array<String>) {
    when (args.getOrNull(0)) {
        "next-activity" -> nextActivity(args.getOrNull(1)?.toInt() ?: 5_000)
        "cycles" -> cycles(args.getOrNull(1)?.toInt() ?: 10_000)
        else -> error("usage: Measure next-activity [CALLS] | cycles [N]")
    }
}
