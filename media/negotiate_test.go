package media

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestNegotiate(t *testing.T) {
	addr := netip.MustParseAddr("10.0.0.1")
	pcmu := Format{PT: 0, Name: "PCMU", ClockRate: 8000}
	pcma := Format{PT: 8, Name: "PCMA", ClockRate: 8000}
	g729 := Format{PT: 18, Name: "G729", ClockRate: 8000}
	te := Format{PT: 101, Name: "telephone-event", ClockRate: 8000}
	tests := []struct {
		name      string
		offer     Description
		supported []Codec
		want      Answer
		wantErr   error
	}{
		{
			name:  "offer order wins",
			offer: Description{Addr: addr, Port: 4000, Formats: []Format{g729, pcma, pcmu, te}, TelephoneEventPT: 101, Ptime: 20},
			want:  Answer{Codec: CodecPCMA, TelephoneEventPT: 101, Direction: SendRecv, Ptime: 20},
		},
		{
			name:  "no events, default ptime",
			offer: Description{Addr: addr, Port: 4000, Formats: []Format{pcmu}, TelephoneEventPT: NoPayloadType},
			want:  Answer{Codec: CodecPCMU, TelephoneEventPT: NoPayloadType, Direction: SendRecv, Ptime: 20},
		},
		{
			name:      "restricted support",
			offer:     Description{Addr: addr, Port: 4000, Formats: []Format{pcmu, pcma}, TelephoneEventPT: NoPayloadType},
			supported: []Codec{CodecPCMA},
			want:      Answer{Codec: CodecPCMA, TelephoneEventPT: NoPayloadType, Direction: SendRecv, Ptime: 20},
		},
		{
			name:  "hold: sendonly answered recvonly",
			offer: Description{Addr: addr, Port: 4000, Formats: []Format{pcmu}, TelephoneEventPT: NoPayloadType, Direction: SendOnly},
			want:  Answer{Codec: CodecPCMU, TelephoneEventPT: NoPayloadType, Direction: RecvOnly, Ptime: 20},
		},
		{
			name:  "legacy hold: c=0.0.0.0 answered recvonly",
			offer: Description{Addr: netip.IPv4Unspecified(), Port: 4000, Formats: []Format{pcmu}, TelephoneEventPT: NoPayloadType},
			want:  Answer{Codec: CodecPCMU, TelephoneEventPT: NoPayloadType, Direction: RecvOnly, Ptime: 20},
		},
		{
			name:    "only G.729",
			offer:   Description{Addr: addr, Port: 4000, Formats: []Format{g729, te}, TelephoneEventPT: 101},
			wantErr: ErrNoCommonCodec,
		},
		{
			name:    "PCMU on a dynamic payload type is not carried",
			offer:   Description{Addr: addr, Port: 4000, Formats: []Format{{PT: 97, Name: "PCMU", ClockRate: 8000}}},
			wantErr: ErrNoCommonCodec,
		},
		{
			name:    "stereo PCMU",
			offer:   Description{Addr: addr, Port: 4000, Formats: []Format{{PT: 0, Name: "PCMU", ClockRate: 8000, Channels: 2}}},
			wantErr: ErrNoCommonCodec,
		},
		{
			name:      "unsupported entries of supported are ignored",
			offer:     Description{Addr: addr, Port: 4000, Formats: []Format{g729}},
			supported: []Codec{{Name: "G729", ClockRate: 8000, PT: 18}},
			wantErr:   ErrNoCommonCodec,
		},
		{
			name:    "disabled stream",
			offer:   Description{Addr: addr, Port: 0, Formats: []Format{pcmu}},
			wantErr: ErrStreamDisabled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Negotiate(&tt.offer, tt.supported)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Profile = Profile{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNegotiateParsedOffer(t *testing.T) {
	offer, err := ParseSDP(trunkOffer)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := Negotiate(offer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Codec != CodecPCMA || ans.TelephoneEventPT != 101 {
		t.Fatalf("answer = %+v", ans)
	}
}

func TestAnswerDirection(t *testing.T) {
	tests := []struct {
		offer, want Direction
	}{
		{SendRecv, SendRecv},
		{SendOnly, RecvOnly},
		{RecvOnly, SendOnly},
		{Inactive, Inactive},
	}
	for _, tt := range tests {
		t.Run(tt.offer.String(), func(t *testing.T) {
			if got := AnswerDirection(tt.offer); got != tt.want {
				t.Fatalf("AnswerDirection(%s) = %s, want %s", tt.offer, got, tt.want)
			}
		})
	}
}
