package sim

import (
	"container/list"
	"hash/maphash"
	"sync"
)

// This file models a server's automatic prefix cache (vLLM's prefix
// caching, SGLang's radix cache, llama.cpp's slot cache): a prompt whose
// beginning matches an earlier prompt's reuses the KV of the shared blocks,
// reports them as cached prompt tokens and skips their prefill.
//
// Like vLLM, the cache works on whole blocks and chains them: block k's key
// hashes block k's content and block k−1's key, so a block matches only
// when everything before it matched too. Blocks are of prefixBlockBytes
// bytes of the prompt's text (role markers included) rather than tokens,
// which keeps the model cheap; the cached tokens are the prompt's tokens in
// proportion to the cached bytes. The cache is a bounded LRU of block keys.

// prefixBlockBytes is the length of a block of prompt text: about 16
// tokens of English text, vLLM's default block size.
const prefixBlockBytes = 64

// prefixCache is a bounded LRU set of block keys. It is safe for
// concurrent use.
type prefixCache struct {
	seed maphash.Seed
	max  int

	mu    sync.Mutex
	order *list.List // of uint64 keys, most recent first
	index map[uint64]*list.Element
}

func newPrefixCache(blocks int) *prefixCache {
	return &prefixCache{seed: maphash.MakeSeed(), max: blocks, order: list.New(), index: make(map[uint64]*list.Element)}
}

// insert caches every block of a prompt whose text parts are parts,
// without counting a hit: the KV of a response's output tokens, which a
// server keeps (vLLM caches every full block, generated ones included), so
// a next turn that sends the answer back finds it.
func (c *prefixCache) insert(parts []string) {
	if c != nil {
		c.lookup(parts, 2)
	}
}

// answerText is the output text of the first n tokens of the response
// with hash h, as the client receives it.
func answerText(h uint64, n int) string {
	var b []byte
	for i := range n {
		b = append(b, word(h, i)...)
	}
	return string(b)
}

// lookup returns how many tokens of a prompt of promptTokens tokens, whose
// text parts are parts, are served from the cache, and then caches every
// block of it. At least one token is always computed, as in vLLM.
func (c *prefixCache) lookup(parts []string, promptTokens int) int {
	if c == nil || promptTokens <= 1 {
		return 0
	}
	var text []byte
	for _, p := range parts {
		text = append(text, p...)
		text = append(text, 0) // a separator, like a chat template's markers
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var key uint64
	hit, matching := 0, true
	for off := 0; off+prefixBlockBytes <= len(text); off += prefixBlockBytes {
		var h maphash.Hash
		h.SetSeed(c.seed)
		var prev [8]byte
		for i := range prev {
			prev[i] = byte(key >> (8 * i))
		}
		h.Write(prev[:])
		h.Write(text[off : off+prefixBlockBytes])
		key = h.Sum64()
		if e, ok := c.index[key]; ok {
			c.order.MoveToFront(e)
			if matching {
				hit++
			}
			continue
		}
		matching = false
		c.index[key] = c.order.PushFront(key)
		if c.order.Len() > c.max {
			last := c.order.Back()
			c.order.Remove(last)
			delete(c.index, last.Value.(uint64))
		}
	}
	if hit == 0 {
		return 0
	}
	cached := promptTokens * hit * prefixBlockBytes / len(text)
	return min(cached, promptTokens-1)
}
