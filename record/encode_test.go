package record

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand"
	randv2 "math/rand/v2"
	"reflect"
	"testing"
	"testing/quick"
)

// TestAppendJSONIsEncodingJSON: AppendJSON writes what encoding/json
// writes, byte for byte, for random records (testing/quick) with HTML,
// escapes, invalid UTF-8 and floats of every form, and for records with
// one field set at a time, so that a field added to Record and not to
// AppendJSON fails here.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	check := func(what string, r *Record) {
		t.Helper()
		want, werr := json.Marshal(r)
		got, err := AppendJSON(nil, r)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%s: error %v; encoding/json's %v", what, err, werr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
		}
	}
	check("zero record", &Record{})
	rt := reflect.TypeFor[Record]()
	rng := rand.New(rand.NewSource(1))
	for i := range rt.NumField() {
		f := rt.Field(i)
		for range 20 {
			var r Record
			v, ok := quick.Value(f.Type, rng)
			if !ok {
				t.Fatalf("quick.Value(%s)", f.Type)
			}
			if f.Type.Kind() == reflect.Pointer && v.IsNil() {
				continue
			}
			reflect.ValueOf(&r).Elem().Field(i).Set(v)
			check("only "+f.Name, &r)
		}
		// Each field alone, set so that it is written (omitempty).
		var r Record
		fv := reflect.ValueOf(&r).Elem().Field(i)
		switch f.Type.Kind() {
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Int, reflect.Int64:
			fv.SetInt(7)
		case reflect.Float64:
			fv.SetFloat(0.125)
		case reflect.String:
			fv.SetString("x")
		case reflect.Slice:
			fv.Set(reflect.ValueOf([]float64{0.5}))
		case reflect.Map:
			fv.Set(reflect.ValueOf(map[string]float64{"a": 1}))
		case reflect.Pointer:
			fv.Set(reflect.New(f.Type.Elem()))
		default:
			t.Fatalf("field %s: kind %s has no case here; AppendJSON may not write it", f.Name, f.Type.Kind())
		}
		got, _ := AppendJSON(nil, &r)
		zero, _ := AppendJSON(nil, &Record{})
		if bytes.Equal(got, zero) {
			t.Errorf("field %s set does not change AppendJSON's output", f.Name)
		}
		check("set "+f.Name, &r)
	}
	frng := randv2.New(randv2.NewPCG(1, 2))
	for i := range 500 {
		v, ok := quick.Value(rt, rand.New(rand.NewSource(int64(i))))
		if !ok {
			t.Fatal("quick.Value")
		}
		r := v.Interface().(Record)
		r.Error += "<a href=\"x\">&\u2028\xff\\\n\t\x01"
		r.ResponseID += "é"
		r.ChunkTimesS = append(r.ChunkTimesS, 1e-7, 1e21, 5e-324, -0.5, math.Copysign(0, -1),
			frng.Float64()*1e-5, frng.NormFloat64()*1e30, float64(frng.Int64N(1e15))/1e9)
		check("random record", &r)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		check("unsupported float", &Record{ChunkTimesS: []float64{0.5, bad}})
		check("unsupported float", &Record{E2ES: bad})
		check("unsupported float", &Record{ServerTimingS: map[string]float64{"x": bad}})
	}
}

// BenchmarkWriteRecord is the CPU of encoding one streamed request's
// record, 129 chunk times, as Writer does (AppendJSON) and as
// encoding/json's Encoder did.
func BenchmarkWriteRecord(b *testing.B) {
	r := &Record{SchemaVersion: SchemaVersion, ID: 12345, Worker: 77, TargetLoad: 1000, ScheduledS: 12.3456789,
		SentS: 12.345701234, TTFTS: 0.200123456, E2ES: 2.741234567, InputTokens: 16, OutputTokens: 128,
		TokenSource: SourceServer, InputTokensLocal: 16, OutputTokensLocal: 128, RequestedOutputTokens: 128,
		Stream: true, FinishReason: "length", ResponseID: "chatcmpl-12345", ReceiveStamps: true, ReadLagMaxS: 0.000012345}
	rng := randv2.New(randv2.NewPCG(5, 6))
	t := int64(200123456)
	for range 129 {
		r.ChunkTimesS = append(r.ChunkTimesS, float64(t)/1e9)
		t += 20e6 + rng.Int64N(200000)
	}
	b.Run("encoder=AppendJSON", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = AppendJSON(buf[:0], r)
		}
	})
	b.Run("encoder=encoding/json", func(b *testing.B) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for b.Loop() {
			buf.Reset()
			enc.Encode(r)
		}
	})
}
