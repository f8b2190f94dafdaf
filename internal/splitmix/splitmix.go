// Package splitmix is splitmix64 (Steele, Lea, Flood 2014; Vigna's
// splitmix64.c), the one mixing function of the data images, the
// synthetic chain and their checkers: the pattern image's stream, the
// B+-tree's keys and values, and bpf/progs/chain.c's next-hop hash (which
// must compute exactly this).
package splitmix

// Gamma is splitmix64's increment (2^64 / φ, odd).
const Gamma = 0x9e3779b97f4a7c15

// Mix is splitmix64's finalizer of x.
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Next advances the state by Gamma and returns the next value of the stream.
func Next(state *uint64) uint64 {
	*state += Gamma
	return Mix(*state)
}
