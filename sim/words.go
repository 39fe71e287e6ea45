package sim

import (
	"encoding/binary"
	"hash/fnv"
)

// words are the output vocabulary: common English words with a leading
// space, each exactly one cl100k_base token, and never merged with a
// neighbour (the BPE pre-tokenizer splits before every space), so the
// output text of n tokens tokenizes to exactly n. TestWordsAreOneToken
// checks both.
var words = [...]string{
	" the", " of", " and", " to", " in", " a", " is", " that", " for", " it", " as", " was",
	" with", " be", " by", " on", " not", " he", " this", " are", " or", " his", " from", " at",
	" which", " but", " have", " an", " had", " they", " you", " were", " their", " one", " all",
	" we", " can", " her", " has", " there", " been", " if", " more", " when", " will", " would",
	" who", " so", " no", " time", " people", " way", " day", " man", " new", " good", " first",
	" last", " long", " great", " little", " own", " other", " old", " right", " big", " high",
	" small", " large", " next", " early", " young", " important", " few", " public", " same",
	" able", " world", " life", " hand", " part", " child", " eye", " woman", " place", " work",
	" week", " case", " point", " number", " group", " problem", " fact", " make", " know",
	" take", " see", " come", " think", " look", " want", " give", " use", " find", " tell",
	" ask", " seem", " feel", " try", " leave", " call", " over", " after", " down", " up",
	" out", " about", " into", " than", " then", " now", " only", " also", " just", " very",
	" still", " here", " well",
}

// splitmix64 is a tiny, good 64-bit mixer (Steele et al.), used so that
// output depends only on the seed and the request.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// requestHash mixes the server seed with the request's own seed and
// prompt text.
func requestHash(seed uint64, reqSeed int64, parts []string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(reqSeed))
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return splitmix64(h.Sum64())
}

// Natural output lengths are uniform on [naturalMin, naturalMax].
const naturalMin, naturalMax = 50, 400

// naturalLength is the length at which a request would stop (EOS) on its own.
func naturalLength(h uint64) int {
	return naturalMin + int(splitmix64(h^0x5bd1e995)%uint64(naturalMax-naturalMin+1))
}

// word is the text of output token i of the request with hash h.
func word(h uint64, i int) string {
	return words[splitmix64(h+uint64(i)*0x9e3779b97f4a7c15)%uint64(len(words))]
}
