package media

import (
	"testing"
)

func TestG711KnownValues(t *testing.T) {
	tests := []struct {
		name string
		got  int
		want int
	}{
		// Decoding (G.711 tables 2a and 2b, scaled to 16 bits).
		{"ulaw 0xFF is +0", int(ULawToLinear(0xFF)), 0},
		{"ulaw 0x7F is -0", int(ULawToLinear(0x7F)), 0},
		{"ulaw 0x80 is max", int(ULawToLinear(0x80)), 32124},
		{"ulaw 0x00 is min", int(ULawToLinear(0x00)), -32124},
		{"ulaw 0xFE", int(ULawToLinear(0xFE)), 8},
		{"alaw 0xD5 is +8", int(ALawToLinear(0xD5)), 8},
		{"alaw 0x55 is -8", int(ALawToLinear(0x55)), -8},
		{"alaw 0xAA is max", int(ALawToLinear(0xAA)), 32256},
		{"alaw 0x2A is min", int(ALawToLinear(0x2A)), -32256},
		// Encoding.
		{"ulaw of 0", int(LinearToULaw(0)), 0xFF},
		{"ulaw of max", int(LinearToULaw(32767)), 0x80},
		{"ulaw of min", int(LinearToULaw(-32768)), 0x00},
		{"ulaw of 1000", int(LinearToULaw(1000)), 0xCE},
		{"alaw of 0", int(LinearToALaw(0)), 0xD5},
		{"alaw of -1", int(LinearToALaw(-1)), 0x55},
		{"alaw of max", int(LinearToALaw(32767)), 0xAA},
		{"alaw of min", int(LinearToALaw(-32768)), 0x2A},
		{"alaw of 1000", int(LinearToALaw(1000)), 0xFA},
		// Direct transcoding: silence stays silence, extremes stay extremes.
		{"u->a +0", int(ulawToALawTable[0xFF]), 0xD5},
		{"u->a -0", int(ulawToALawTable[0x7F]), 0x55},
		{"u->a max", int(ulawToALawTable[0x80]), 0xAA},
		{"u->a min", int(ulawToALawTable[0x00]), 0x2A},
		{"a->u +8", int(alawToULawTable[0xD5]), 0xFE},
		{"a->u -8", int(alawToULawTable[0x55]), 0x7E},
		{"a->u max", int(alawToULawTable[0xAA]), 0x80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %#x (%d), want %#x (%d)", tt.got, tt.got, tt.want, tt.want)
			}
		})
	}
}

// Decoding a code and encoding the result gives the code back, for every
// code but the redundant negative zero of µ-law.
func TestG711RoundTripCodes(t *testing.T) {
	for c := range 256 {
		if u := LinearToULaw(ULawToLinear(uint8(c))); u != uint8(c) && c != 0x7F {
			t.Errorf("ulaw %#x -> %d -> %#x", c, ULawToLinear(uint8(c)), u)
		}
		if a := LinearToALaw(ALawToLinear(uint8(c))); a != uint8(c) {
			t.Errorf("alaw %#x -> %d -> %#x", c, ALawToLinear(uint8(c)), a)
		}
	}
}

// Encoding then decoding any sample stays within half a quantisation step
// of the sample's segment (G.711's quantisation error).
func TestG711RoundTripSamples(t *testing.T) {
	tests := []struct {
		name   string
		encode func(int16) uint8
		decode func(uint8) int16
		// maxErr returns the largest permitted error for a sample.
		maxErr func(s int) int
	}{
		{"ulaw", LinearToULaw, ULawToLinear, func(s int) int { return max(8, abs(s)/16) + 4 }},
		{"alaw", LinearToALaw, ALawToLinear, func(s int) int { return max(16, abs(s)/16) + 8 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for s := -32768; s <= 32767; s++ {
				clip := min(max(s, -32124), 32124)
				got := int(tt.decode(tt.encode(int16(s))))
				if abs(got-clip) > tt.maxErr(clip) {
					t.Fatalf("%d -> %d: error %d", s, got, abs(got-clip))
				}
			}
		})
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// The direct tables agree with decoding and re-encoding by magnitude, keep
// the sign, and are transparent for most codes in both tandem orders.
func TestG711TranscodeTables(t *testing.T) {
	uau, aua := 0, 0
	for c := range 256 {
		a := ulawToALawTable[c]
		if a&0x80 != uint8(c)&0x80 {
			t.Errorf("u->a %#x changed sign: %#x", c, a)
		}
		// Within one A-law step of the µ-law level.
		if d := abs(int(ALawToLinear(a)) - int(ULawToLinear(uint8(c)))); d > max(16, abs(int(ULawToLinear(uint8(c))))/16)+8 {
			t.Errorf("u->a %#x: %d -> %d", c, ULawToLinear(uint8(c)), ALawToLinear(a))
		}
		if alawToULawTable[a] == uint8(c) {
			uau++
		}
		if ulawToALawTable[alawToULawTable[c]] == uint8(c) {
			aua++
		}
	}
	// 120 of 128 magnitudes per sign, as with the tables of G.711.
	if uau < 240 || aua < 240 {
		t.Fatalf("transparency: u->a->u %d/256, a->u->a %d/256", uau, aua)
	}
}

func TestG711Frames(t *testing.T) {
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16((i - 80) * 400)
	}
	tests := []struct {
		name   string
		encode func([]byte, []int16) int
		decode func([]int16, []byte) int
		single func(uint8) int16
	}{
		{"pcmu", EncodePCMU, DecodePCMU, ULawToLinear},
		{"pcma", EncodePCMA, DecodePCMA, ALawToLinear},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := make([]byte, 160)
			if n := tt.encode(enc, pcm); n != 160 {
				t.Fatalf("encode n = %d", n)
			}
			dec := make([]int16, 200)
			if n := tt.decode(dec, enc); n != 160 {
				t.Fatalf("decode n = %d", n)
			}
			for i := range enc {
				if dec[i] != tt.single(enc[i]) {
					t.Fatalf("sample %d: %d != %d", i, dec[i], tt.single(enc[i]))
				}
			}
			if n := tt.encode(enc[:10], pcm); n != 10 {
				t.Fatalf("short dst: n = %d", n)
			}
		})
	}

	frame := ramp(0)
	in := append([]byte(nil), frame...)
	PCMUToPCMA(frame, frame) // in place
	for i := range frame {
		if frame[i] != ulawToALawTable[in[i]] {
			t.Fatalf("in-place u->a byte %d", i)
		}
	}
	PCMAToPCMU(frame, frame)
	for i := range frame {
		if frame[i] != alawToULawTable[ulawToALawTable[in[i]]] {
			t.Fatalf("in-place a->u byte %d", i)
		}
	}
}

func BenchmarkPCMUToPCMA160(b *testing.B) {
	frame := ramp(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		PCMUToPCMA(frame, frame)
	}
}

func BenchmarkDecodePCMU160(b *testing.B) {
	frame, pcm := ramp(0), make([]int16, 160)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		DecodePCMU(pcm, frame)
	}
}

func BenchmarkEncodePCMA160(b *testing.B) {
	frame, pcm := make([]byte, 160), make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(i * 200)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		EncodePCMA(frame, pcm)
	}
}
