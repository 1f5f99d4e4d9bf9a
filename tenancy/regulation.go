package tenancy

import (
	"strconv"
	"strings"
)

// RegulationTemplate is a documented, versioned set of rules the platform
// ships for safety policies to reference. A version never changes once
// shipped; a change is a new version, and a policy that names a template
// without a version follows its latest one.
type RegulationTemplate struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	// Ref is how a policy pins this version: "<id>@<version>".
	Ref     string `json:"ref"`
	Name    string `json:"name"`
	Summary string `json:"summary"`
	// References are the regulations the template follows.
	References []string `json:"references"`
	// Rules are what the agent does, in order.
	Rules []TemplateRule `json:"rules"`
	// MonitorConcepts are the concepts the template adds to a policy that
	// references it (its escalation rules may name them).
	MonitorConcepts []MonitorConcept `json:"monitor_concepts"`
	// EscalationRules are the template's own rules.
	EscalationRules []EscalationRule `json:"escalation_rules"`
}

// TemplateRule is one rule of a template.
type TemplateRule struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// regulationTemplates is the shipped set, by id, every version.
var regulationTemplates = []RegulationTemplate{
	{
		ID: "hipaa-minimum-necessary", Version: 1, Name: "HIPAA minimum necessary",
		Summary:    "Use and disclose only the protected health information a request needs.",
		References: []string{"45 CFR 164.502(b)", "45 CFR 164.514(d)"},
		Rules: []TemplateRule{
			{"scope-to-purpose", "Share only the PHI the caller's request needs (an appointment time, not the visit reason)."},
			{"no-unsolicited-phi", "Never volunteer diagnoses, results, medications or other PHI the caller did not ask for."},
			{"no-third-party-phi", "Never disclose PHI of a patient to a caller who is not the patient or their verified representative."},
			{"no-phi-in-voicemail", "Leave no PHI in voicemail or with whoever answers a call back, beyond a name and a number to call."},
		},
		MonitorConcepts: []MonitorConcept{
			{"third_party_phi_request", "The caller asks for health information of someone else.", "high"},
		},
		EscalationRules: []EscalationRule{
			{Concept: "third_party_phi_request", Action: ActionEscalate, Mode: ModeListen},
		},
	},
	{
		ID: "identity-verification-before-phi", Version: 1, Name: "Identity verification before PHI",
		Summary:    "Verify who the caller is before any protected health information is shared or changed.",
		References: []string{"45 CFR 164.514(h)"},
		Rules: []TemplateRule{
			{"two-identifiers", "Before sharing or changing PHI, match two identifiers (full name and date of birth) against the record."},
			{"caller-id-not-identity", "A recognised caller number is not identity verification."},
			{"representatives", "A representative (parent, guardian, power of attorney) is verified against the record's list of representatives."},
			{"on-failure", "After two failed attempts, share nothing and offer a call back or a person."},
		},
		EscalationRules: []EscalationRule{
			{Condition: "identity_not_verified", Action: ActionEscalate, Mode: ModeListen,
				Message: "I'm not able to verify your identity, so I'll bring in a member of our staff."},
		},
	},
	{
		ID: "emergency-988-routing", Version: 1, Name: "Emergency and 988 routing",
		Summary:    "Recognise medical emergencies and suicidal crises and route them at once.",
		References: []string{"National Suicide Hotline Designation Act of 2020 (988)", "47 CFR 9 (911)"},
		Rules: []TemplateRule{
			{"medical-emergency", "On signs of a medical emergency, tell the caller to hang up and dial 911 now, and alert staff."},
			{"suicidal-crisis", "On suicidal thoughts or intent, stay with the caller, give the 988 Suicide & Crisis Lifeline (call or text 988) and bring in staff at once."},
			{"never-end-first", "Never end a call with a caller in crisis; a person takes over."},
		},
		MonitorConcepts: []MonitorConcept{
			{"medical_emergency", "Chest pain, trouble breathing, stroke signs, severe bleeding, loss of consciousness.", "critical"},
			{"suicidal_ideation", "The caller speaks of ending their life or harming themselves.", "critical"},
		},
		EscalationRules: []EscalationRule{
			{Concept: "medical_emergency", Action: ActionEscalate, Mode: ModeBarge,
				Message: "This sounds like an emergency. Please hang up and dial 911 now. I'm alerting our staff."},
			{Concept: "suicidal_ideation", Action: ActionEscalate, Mode: ModeBarge,
				Message: "I'm glad you called. You can call or text 988 at any time. I'm bringing in someone from our team now."},
		},
	},
	{
		ID: "recording-consent-by-state", Version: 1, Name: "Call recording consent by state",
		Summary: "Announce recording and obtain consent where the caller's state requires every party's consent. " +
			"A template, not legal advice: review it with counsel.",
		References: []string{"18 U.S.C. 2511(2)(d)", "Cal. Penal Code 632", "Fla. Stat. 934.03", "18 Pa. C.S. 5704", "Wash. Rev. Code 9.73.030"},
		Rules: []TemplateRule{
			{"announce", "When the workspace records calls, say so at the start of every call."},
			{"all-party-states", "When the caller is in CA, DE, FL, IL, MD, MA, MT, NV, NH, PA or WA, ask for consent and continue recording only after a yes."},
			{"unknown-state", "When the caller's state is unknown, treat it as an all-party consent state."},
			{"declined", "If the caller declines, stop recording (or offer a person) and do not ask again."},
		},
		MonitorConcepts: []MonitorConcept{
			{"recording_consent_declined", "The caller declines to be recorded.", "medium"},
		},
	},
	{
		ID: "clinical-advice-boundary", Version: 1, Name: "No clinical advice",
		Summary:    "The agent does not diagnose, interpret results or change treatment; clinicians do.",
		References: []string{"State medical practice acts"},
		Rules: []TemplateRule{
			{"no-diagnosis", "Never diagnose or suggest what a symptom means."},
			{"no-results", "Never interpret test results; offer a call back from a clinician."},
			{"no-medication-changes", "Never advise starting, stopping or changing a medication or its dose."},
		},
		MonitorConcepts: []MonitorConcept{
			{"clinical_advice_request", "The caller asks for a diagnosis, a result's meaning or medication advice.", "medium"},
		},
	},
}

// RegulationTemplates returns the shipped templates, every version, by id
// and version.
func RegulationTemplates() []RegulationTemplate {
	out := make([]RegulationTemplate, len(regulationTemplates))
	for i, t := range regulationTemplates {
		t.Ref = t.ID + "@" + strconv.Itoa(t.Version)
		out[i] = t
	}
	return out
}

// LookupRegulationTemplate finds the template a policy references:
// "<id>@<version>", or "<id>" for its latest version.
func LookupRegulationTemplate(ref string) (RegulationTemplate, bool) {
	id, v, pinned := strings.Cut(ref, "@")
	version := 0
	if pinned {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return RegulationTemplate{}, false
		}
		version = n
	}
	var found RegulationTemplate
	ok := false
	for _, t := range RegulationTemplates() {
		if t.ID == id && (t.Version == version || version == 0 && t.Version > found.Version) {
			found, ok = t, true
		}
	}
	return found, ok
}
