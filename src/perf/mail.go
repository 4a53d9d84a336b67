package perf

import "fmt"

// Mail is one notification of API.md §9. The sender (MAIL_FROM) and, when
// CcSupport is set, the support list (MAIL_SUPPORT) are added by the
// notifier.
type Mail struct {
	To        []string
	CcSupport bool
	Subject   string
	Headers   map[string]string // extra headers such as Resource-ID
	Body      string
}

const signature = "\n\nBest regards,\nperf-support\n"

// MailWelcome is sent to a newly registered user.
func MailWelcome(to string) Mail {
	return Mail{To: []string{to}, Subject: "Thank you for registering",
		Body: "Dear user,\n\nthank you for registering with the EOSC Performance service." + signature}
}

// MailUserUpdated is sent to the new address after POST /users/self:update.
func MailUserUpdated(to string) Mail {
	return Mail{To: []string{to}, Subject: "Your user information was updated",
		Body: "Dear user,\n\nyour user information was updated with the data of your identity provider." + signature}
}

// MailSubmitted tells the uploader (cc support) that a resource awaits review.
func MailSubmitted(to, kind, id string) Mail {
	return Mail{To: []string{to}, CcSupport: true,
		Subject: fmt.Sprintf("New %s resource submitted: %s", kind, id),
		Headers: map[string]string{"Resource-ID": id},
		Body:    fmt.Sprintf("Dear user,\n\nyour %s %s was submitted and is waiting for review by an administrator.", kind, id) + signature}
}

// MailApproved tells the uploader (or claimant) that a resource was approved.
func MailApproved(to, kind, id string) Mail {
	return Mail{To: []string{to}, CcSupport: true,
		Subject: "Resource approved: " + id,
		Headers: map[string]string{"Resource-ID": id},
		Body:    fmt.Sprintf("Dear user,\n\nyour %s %s was approved by an administrator.", kind, id) + signature}
}

// MailRejected tells the former uploader (or claimant) that a resource was
// rejected.
func MailRejected(to, kind, id string) Mail {
	return Mail{To: []string{to}, CcSupport: true,
		Subject: "Resource rejected: " + id,
		Headers: map[string]string{"Resource-ID": id},
		Body:    fmt.Sprintf("Dear user,\n\nyour %s %s was rejected by an administrator and removed.", kind, id) + signature}
}

// MailClaimed tells a result's uploader that someone claimed the result.
func MailClaimed(to, resultID, claimID string) Mail {
	return Mail{To: []string{to}, CcSupport: true,
		Subject: "Claim submitted on result: " + resultID,
		Headers: map[string]string{"Result-ID": resultID, "Claim-ID": claimID},
		Body:    fmt.Sprintf("Dear user,\n\na claim (%s) was submitted on your result %s; the result is hidden until an administrator reviews the claim.", claimID, resultID) + signature}
}

// MailRestored tells a result's uploader that a rejected claim restored it.
func MailRestored(to, resultID string) Mail {
	return Mail{To: []string{to}, CcSupport: true,
		Subject: "Result restored: " + resultID,
		Headers: map[string]string{"Result-ID": resultID},
		Body:    fmt.Sprintf("Dear user,\n\nthe claim on your result %s was rejected; the result is visible again.", resultID) + signature}
}
