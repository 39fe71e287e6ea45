package wire

import (
	"testing"
	"unsafe"
)

// TestLeanBodyLineFieldsShareACacheLine holds the layout leanBody's
// comment describes: the fields each line reads lie in its first 64
// bytes, and the struct fills Go's 128-byte size class, whose objects
// start on a 64-byte boundary (docs/performance.md, "Cold stream state").
func TestLeanBodyLineFieldsShareACacheLine(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the sizes are those of a 64-bit platform")
	}
	var b leanBody
	if size := unsafe.Sizeof(b); size != 128 {
		t.Errorf("leanBody is %d bytes, want 128 (the 128-byte size class)", size)
	}
	if end := unsafe.Offsetof(b.long) + unsafe.Sizeof(b.long); end > 64 {
		t.Errorf("the per-line fields end at byte %d, want within the first 64", end)
	}
}
