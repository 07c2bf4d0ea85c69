package sheets

// SetRecoverPanics switches ReadBytes' recovery from panics (tests only).
func SetRecoverPanics(on bool) (was bool) {
	was, recoverPanics = recoverPanics, on
	return was
}
