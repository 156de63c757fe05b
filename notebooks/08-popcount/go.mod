module example.com/popcount

go 1.24
