package openai

import (
	"testing"
	"unsafe"
)

// TestStreamHotFieldsShareCacheLines holds the layout sseStream's comment
// describes (docs/performance.md, "Cold stream state"): the stream fills
// Go's 1,152-byte size class (its objects start on a 64-byte boundary),
// the memo starts on a cache line of its own, and the part of it a chunk
// served from it reads (flags, lengths, hash, spans) fits in that line.
func TestStreamHotFieldsShareCacheLines(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the sizes are those of a 64-bit platform")
	}
	var s sseStream
	if size := unsafe.Sizeof(s); size != 1152 {
		t.Errorf("sseStream is %d bytes, want 1,152 (the 1,152-byte size class)", size)
	}
	memoAt := unsafe.Offsetof(s.dec) + unsafe.Offsetof(s.dec.memo)
	if memoAt%64 != 0 {
		t.Errorf("the memo starts at byte %d, not on a cache line", memoAt)
	}
	m := &s.dec.memo
	if end := unsafe.Offsetof(m.spans) + unsafe.Sizeof(m.spans); end > 64 {
		t.Errorf("the memo's hot part ends at byte %d of it, want within 64", end)
	}
}
