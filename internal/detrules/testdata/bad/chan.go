package bad

type pipe struct {
	c chan int // want "chan"
}

func channels(in <-chan int, p pipe) { // want "chan"
	c := make(chan int, 1) // want "chan"
	c <- 1                 // want "chan-send"
	x := <-in              // want "chan-recv"
	x, ok := <-p.c         // want "chan-recv"
	_, _ = x, ok
	select { // want "select"
	case v := <-c: // want "chan-recv"
		_ = v
	default:
	}
	for v := range in { // want "chan-recv"
		_ = v
	}
	close(c)
}
