package broken

var x int = "not an int"
