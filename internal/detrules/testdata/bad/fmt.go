package bad

import (
	"fmt"
	"io"
)

const ptrFormat = "at %p"

func pointers(w io.Writer, x *int) {
	_ = fmt.Sprintf("%p", x)         // want "fmt-pointer"
	fmt.Printf("%#p\n", x)           // want "fmt-pointer"
	_ = fmt.Errorf("%[1]p %[1]v", x) // want "fmt-pointer"
	fmt.Fprintf(w, ptrFormat, x)     // want "fmt-pointer"
	_ = fmt.Appendf(nil, "%-8p", x)  // want "fmt-pointer"
}
