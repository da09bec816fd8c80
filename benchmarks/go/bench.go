// The benchmark's figures on Go goroutines, for reference (optional peer,
// standard library only). Runs with GOMAXPROCS=1, like the other peers'
// single thread. Prints one `name value unit` line per figure:
//
//   - switch_ns: two goroutines ping-pong with runtime.Gosched(); per yield.
//   - spawn_join_ns: `go` + receive its result from a channel, one at a time.
//   - event_handoff_ns: two goroutines wake each other through two
//     chan struct{} of capacity 1 (Go has no Event); per hand-off.
//   - timeout_enter_exit_ns: time.NewTimer(10s) + Stop() without firing.
//   - rss_per_parked_greenlet_bytes: RSS growth per goroutine parked on a
//     channel receive, 100k.
//   - max_live_greenlets: parked goroutines up to 1,000,000.
//   - rr_switch_1k_ns, rr_switch_10k_ns, rr_switch_100k_ns: that many
//     goroutines ready at once, each looping runtime.Gosched() until 4
//     million yields in total; per yield, timed once all have started.
//   - queue_put_get_ns: ping-pong through two chan int of capacity 1; per
//     send or receive.
//   - channel_handoff_ns: an unbuffered channel (a true rendezvous); per item.
//   - semaphore_acquire_release_ns: Go's standard library has no semaphore;
//     the idiom is a chan struct{} of capacity 1 (send acquires, receive
//     releases), measured uncontended.
//   - pool_map_per_item_ns: 100k trivial items, a goroutine each, at most 100
//     at once (a buffered-channel semaphore), results by index; per item.
//
// threadpool_roundtrip_us is not measured: Go has no separate pool for
// blocking work (the runtime hands a blocked thread's P to another thread).
//
// Usage: bench [figure]
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func bestOf(runs int, n int, f func(int) float64) float64 {
	f(n / 10) // warm up
	best := f(n)
	for i := 1; i < runs; i++ {
		if v := f(n); v < best {
			best = v
		}
	}
	return best
}

func nsPer(t time.Time, ops int) float64 {
	return float64(time.Since(t).Nanoseconds()) / float64(ops)
}

func switchNs(n int) float64 {
	var wg sync.WaitGroup
	t := time.Now()
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	return nsPer(t, 2*n)
}

// processCPU: CPU time used by the process so far (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rrSwitch: n goroutines ready at once, each looping Gosched; ns per yield
// (wall clock, returned; the process CPU time is printed as name_cpu_ns).
func rrSwitch(name string, n int) float64 {
	iters := 4_000_000 / n
	best, bestCPU := 0.0, 0.0
	for r := 0; r < 3; r++ {
		var started, done sync.WaitGroup
		started.Add(n)
		done.Add(n)
		for k := 0; k < n; k++ {
			go func() {
				defer done.Done()
				started.Done()
				for i := 0; i < iters; i++ {
					runtime.Gosched()
				}
			}()
		}
		started.Wait()
		t, c := time.Now(), processCPU()
		done.Wait()
		if v := nsPer(t, n*iters); r == 0 || v < best {
			best = v
		}
		if v := float64(processCPU()-c) / float64(n*iters); r == 0 || v < bestCPU {
			bestCPU = v
		}
	}
	fmt.Printf("%s_cpu_ns %.1f ns\n", strings.TrimSuffix(name, "_ns"), bestCPU)
	return best
}

func spawnJoinNs(n int) float64 {
	t := time.Now()
	sum := 0
	for i := 0; i < n; i++ {
		c := make(chan int, 1)
		go func(i int) { c <- i }(i)
		sum += <-c
	}
	if sum != n*(n-1)/2 {
		panic("sum")
	}
	return nsPer(t, n)
}

func eventHandoffNs(n int) float64 {
	ping, pong := make(chan struct{}, 1), make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			<-ping
			pong <- struct{}{}
		}
		close(done)
	}()
	t := time.Now()
	for i := 0; i < n; i++ {
		ping <- struct{}{}
		<-pong
	}
	ns := nsPer(t, 2*n)
	<-done
	return ns
}

func timeoutNs(n int) float64 {
	t := time.Now()
	for i := 0; i < n; i++ {
		tm := time.NewTimer(10 * time.Second)
		tm.Stop()
	}
	return nsPer(t, n)
}

func rssBytes() int {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.Atoi(f[1])
	return pages * os.Getpagesize()
}

// parkMany starts n goroutines parked on gate and waits until all parked.
func parkMany(gate chan struct{}, n int) *sync.WaitGroup {
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-gate
			done.Done()
		}()
	}
	started.Wait()
	runtime.Gosched()
	return &done
}

func rssPerParked() float64 {
	const n = 100_000
	gate := make(chan struct{})
	runtime.GC()
	before := rssBytes()
	done := parkMany(gate, n)
	after := rssBytes()
	close(gate)
	done.Wait()
	return float64(after-before) / n
}

func maxLive() float64 {
	const n = 1_000_000
	gate := make(chan struct{})
	done := parkMany(gate, n)
	close(gate)
	done.Wait()
	return n
}

func queuePutGetNs(n int) float64 {
	ping, pong := make(chan int, 1), make(chan int, 1)
	t := time.Now()
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			pong <- <-ping
		}
		close(done)
	}()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	<-done
	return nsPer(t, 4*n)
}

func channelHandoffNs(n int) float64 {
	ch := make(chan int)
	t := time.Now()
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
		close(done)
	}()
	for i := 0; i < n; i++ {
		<-ch
	}
	<-done
	return nsPer(t, n)
}

func semaphoreNs(n int) float64 {
	sem := make(chan struct{}, 1)
	t := time.Now()
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		<-sem
	}
	return nsPer(t, n)
}

func poolMapNs(n int) float64 {
	sem := make(chan struct{}, 100)
	out := make([]int, n)
	var wg sync.WaitGroup
	t := time.Now()
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			out[i] = i + 1
			<-sem
			wg.Done()
		}(i)
	}
	wg.Wait()
	ns := nsPer(t, n)
	if out[7] != 8 {
		panic("pool map")
	}
	return ns
}

func main() {
	runtime.GOMAXPROCS(1)
	only := ""
	if len(os.Args) > 1 {
		only = os.Args[1]
	}
	figures := []struct {
		name, unit string
		f          func() float64
	}{
		{"switch_ns", "ns", func() float64 { return bestOf(3, 1_000_000, switchNs) }},
		{"spawn_join_ns", "ns", func() float64 { return bestOf(3, 100_000, spawnJoinNs) }},
		{"event_handoff_ns", "ns", func() float64 { return bestOf(3, 500_000, eventHandoffNs) }},
		{"timeout_enter_exit_ns", "ns", func() float64 { return bestOf(3, 1_000_000, timeoutNs) }},
		{"rss_per_parked_greenlet_bytes", "bytes", rssPerParked},
		{"max_live_greenlets", "greenlets", maxLive},
		{"rr_switch_1k_ns", "ns", func() float64 { return rrSwitch("rr_switch_1k_ns", 1_000) }},
		{"rr_switch_10k_ns", "ns", func() float64 { return rrSwitch("rr_switch_10k_ns", 10_000) }},
		{"rr_switch_100k_ns", "ns", func() float64 { return rrSwitch("rr_switch_100k_ns", 100_000) }},
		{"queue_put_get_ns", "ns", func() float64 { return bestOf(5, 200_000, queuePutGetNs) }},
		{"channel_handoff_ns", "ns", func() float64 { return bestOf(5, 200_000, channelHandoffNs) }},
		{"semaphore_acquire_release_ns", "ns", func() float64 { return bestOf(5, 5_000_000, semaphoreNs) }},
		{"pool_map_per_item_ns", "ns", func() float64 { return bestOf(5, 100_000, poolMapNs) }},
	}
	for _, fig := range figures {
		if only != "" && only != fig.name {
			continue
		}
		v := fig.f()
		switch fig.unit {
		case "ns":
			fmt.Printf("%s %.1f %s\n", fig.name, v, fig.unit)
		default:
			fmt.Printf("%s %.0f %s\n", fig.name, v, fig.unit)
		}
	}
}
