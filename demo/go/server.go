// Package main serves a tiny file-preview endpoint.
package main

import (
	"crypto/md5"
	"database/sql"
	"fmt"
	"net/http"
	"os/exec"
)

func preview(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("file")
	out, err := exec.Command("sh", "-c", "head -n 20 "+name).Output()
	if err != nil {
		panic(err)
	}
	w.Write(out)
}

func lookup(db *sql.DB, user string) (*sql.Rows, error) {
	return db.Query(fmt.Sprintf("SELECT * FROM files WHERE owner = '%s'", user))
}

func checksum(data []byte) string {
	return fmt.Sprintf("%x", md5.Sum(data))
}

func main() {
	http.HandleFunc("/preview", preview)
	http.ListenAndServe(":8080", nil)
}
