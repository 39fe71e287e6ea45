package chart

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io"
)

// Writing a figure's PNG.
//
// image/png chooses a filter for every row by trying all five and
// keeping the one whose bytes sum smallest, and that choice was the
// largest single cost of drawing a report (about a quarter of a figure's
// CPU). A chart is mostly flat colour, long runs of identical pixels
// that deflate compresses as well unfiltered: encodePNG writes every row
// with filter None, in 8-bit RGB (a figure is opaque), at zlib's fastest
// level. The files come out about as large as image/png's (0.995× in all
// on the figures of four real reports); TestEncodePNG checks the pixels
// and the size.

// encodePNG writes m as a PNG: RGB with filter None when m is opaque,
// else through image/png.
func encodePNG(w io.Writer, m *image.RGBA) error {
	if b := m.Bounds(); b.Empty() || !m.Opaque() {
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		return enc.Encode(w, m)
	}
	b := m.Bounds()
	width, height := b.Dx(), b.Dy()
	ew := &errWriter{w: w}
	ew.write([]byte("\x89PNG\r\n\x1a\n"))
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, 2 // 8 bits per sample, truecolour; deflate, filter method 0, no interlace
	ew.chunk("IHDR", ihdr[:])

	// A new compressor (about 1 MiB) for each figure: a pooled one would
	// stay live after the report, counted as the next run's memory
	// (selfcheck's memory per stream).
	bw := bufio.NewWriterSize(idatWriter{ew}, 1<<15)
	zw, err := zlib.NewWriterLevel(bw, zlib.BestSpeed)
	if err != nil {
		return err
	}
	row := make([]byte, 1+3*width)
	row[0] = 0 // filter None
	for y := b.Min.Y; y < b.Max.Y; y++ {
		pix := m.Pix[m.PixOffset(b.Min.X, y):]
		for x, i := 0, 1; x < width; x, i = x+1, i+3 {
			p := pix[4*x : 4*x+3 : 4*x+3]
			row[i], row[i+1], row[i+2] = p[0], p[1], p[2]
		}
		if _, err := zw.Write(row); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	ew.chunk("IEND", nil)
	return ew.err
}

// errWriter keeps the first error of its writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

// chunk writes one PNG chunk: length, type, data, CRC of type and data.
func (e *errWriter) chunk(typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	crc := crc32.Update(crc32.ChecksumIEEE(hdr[4:]), crc32.IEEETable, data)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc)
	e.write(hdr[:])
	e.write(data)
	e.write(sum[:])
}

// idatWriter writes what it is given as one IDAT chunk per call (the
// bufio.Writer in front of it makes them 32 KiB).
type idatWriter struct{ e *errWriter }

func (d idatWriter) Write(b []byte) (int, error) {
	d.e.chunk("IDAT", b)
	if d.e.err != nil {
		return 0, d.e.err
	}
	return len(b), nil
}
