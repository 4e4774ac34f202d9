package bad

func spawn(f func()) {
	go f()      // want "go"
	go func() { // want "go"
		f()
	}()
}
