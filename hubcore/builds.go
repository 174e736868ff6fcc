package hubcore

func buildMethods() []method { return nil }
