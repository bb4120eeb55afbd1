module github.com/petstore/petstore-go

go 1.19
