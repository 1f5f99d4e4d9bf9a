package main

import "testing"

// TestJudgeEstablishmentNamesRefusals: a step whose only losses are the
// edge's refusals says so; failed calls, retransmissions and a short rate
// keep their notes.
func TestJudgeEstablishmentNamesRefusals(t *testing.T) {
	tests := []struct {
		name string
		st   step
		pass bool
		note string
	}{
		{"clean", step{Created: 100, Successful: 100, AchievedRate: 100}, true, ""},
		{"refused only", step{Created: 100, Successful: 97, Refused: 3, AchievedRate: 100}, false, "3 calls refused"},
		{"failed and refused", step{Created: 100, Successful: 95, Refused: 3, Failed: 2, AchievedRate: 100}, false, "failed calls"},
		{"unanswered", step{Created: 100, Successful: 98, AchievedRate: 100}, false, "failed calls"},
		{"retransmissions", step{Created: 100, Successful: 100, Retrans: 4, AchievedRate: 100}, false, "retransmissions"},
		{"short rate", step{Created: 100, Successful: 100, AchievedRate: 80}, false, "generators reached only 80 cps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st
			judgeEstablishment(&st, 100)
			if st.Pass != tt.pass || st.Note != tt.note {
				t.Fatalf("pass %v, note %q; want %v, %q", st.Pass, st.Note, tt.pass, tt.note)
			}
		})
	}
}
